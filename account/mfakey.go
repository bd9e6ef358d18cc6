package account

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// MFAKeys seal TOTP secrets at rest with AES-256-GCM. The first key seals
// every new secret; any of them opens one, found by the key id stored with
// it, so that a key can be rotated: put the new key first, keep the old ones
// until every secret is sealed with the new (a secret is sealed again with
// the first key whenever its code is accepted; `roster mfa-rekey`, which is
// Service.RekeyMFA, does all at once). A sealed secret is bound to its account: moved to another
// account's row, it does not open.
type MFAKeys struct {
	keys []mfaKey
}

type mfaKey struct {
	id   [4]byte // the first bytes of SHA-256(key): names the key, reveals nothing of it
	aead cipher.AEAD
}

// MFAKeyLen is the length of an MFA key: 32 bytes, for AES-256.
const MFAKeyLen = 32

// ErrMFAKeyUnknown means a secret was sealed with a key the server no
// longer has.
var ErrMFAKeyUnknown = errors.New("account: the TOTP secret was sealed with a key this server does not have")

// NewMFAKeys returns the keys, the first one sealing.
func NewMFAKeys(keys ...[]byte) (*MFAKeys, error) {
	if len(keys) == 0 {
		return nil, errors.New("account: no MFA key")
	}
	k := &MFAKeys{}
	for i, key := range keys {
		if len(key) != MFAKeyLen {
			return nil, fmt.Errorf("account: MFA key %d is %d bytes, want %d", i+1, len(key), MFAKeyLen)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(key)
		k.keys = append(k.keys, mfaKey{id: [4]byte(sum[:4]), aead: aead})
	}
	return k, nil
}

// ParseMFAKeys reads a comma-separated list of base64 keys (standard or URL
// alphabet, padded or not), the form of -mfa-key and of a key file.
func ParseMFAKeys(list string) (*MFAKeys, error) {
	var keys [][]byte
	for i, part := range strings.Split(strings.TrimSpace(list), ",") {
		part = strings.TrimRight(strings.TrimSpace(part), "=")
		key, err := base64.RawStdEncoding.DecodeString(part)
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(part)
		}
		if err != nil {
			return nil, fmt.Errorf("account: MFA key %d is not base64", i+1)
		}
		keys = append(keys, key)
	}
	return NewMFAKeys(keys...)
}

// NewMFAKey returns a fresh random key in the form ParseMFAKeys reads.
func NewMFAKey() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(MFAKeyLen))
}

// aad binds a sealed secret to its account.
func aad(userID int64) []byte {
	return binary.BigEndian.AppendUint64([]byte("roster totp secret\x00"), uint64(userID))
}

// seal encrypts secret for userID under the first key: key id, nonce, then
// the sealed bytes.
func (k *MFAKeys) seal(userID int64, secret []byte) []byte {
	key := k.keys[0]
	out := append([]byte(nil), key.id[:]...)
	nonce := randomBytes(key.aead.NonceSize())
	out = append(out, nonce...)
	return key.aead.Seal(out, nonce, secret, aad(userID))
}

// open decrypts a sealed secret of userID; current reports whether the first
// key sealed it.
func (k *MFAKeys) open(userID int64, sealed []byte) (secret []byte, current bool, err error) {
	if len(sealed) < 4 {
		return nil, false, errors.New("account: sealed TOTP secret too short")
	}
	for i, key := range k.keys {
		if [4]byte(sealed[:4]) != key.id {
			continue
		}
		rest := sealed[4:]
		n := key.aead.NonceSize()
		if len(rest) < n {
			return nil, false, errors.New("account: sealed TOTP secret too short")
		}
		secret, err := key.aead.Open(nil, rest[:n], rest[n:], aad(userID))
		if err != nil {
			return nil, false, fmt.Errorf("account: TOTP secret does not open: %w", err)
		}
		return secret, i == 0, nil
	}
	return nil, false, ErrMFAKeyUnknown
}

// randomBytes returns n random bytes; crypto/rand.Read never fails (it
// crashes the program instead).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
