//go:build unix

package db

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

// shmWith returns a wal-index start whose two header copies are c0 and c1.
func shmWith(c0, c1 walIndexHdr) []byte {
	shm := make([]byte, shmMinSize) // heap-allocated, so 8-byte aligned
	words := (*[2 * walIndexHdrWords]uint32)(unsafe.Pointer(&shm[0]))
	copy(words[:walIndexHdrWords], c0[:])
	copy(words[walIndexHdrWords:], c1[:])
	return shm
}

// TestChangedSinceTornRule: a header counts as unchanged only when both
// copies agree and equal the header recorded, whole; copies that differ (a
// writer between its two stores) always count as a change, even when copy 0
// is the recorded header, and so does anything after a torn recording.
func TestChangedSinceTornRule(t *testing.T) {
	t.Parallel()
	old := walIndexHdr{3007000, 0, 41, 0x0101, 7, 9, 1, 2, 3, 4, 5, 6}
	next := old
	next[2]++ // iChange
	next[4]++ // mxFrame
	for _, tc := range []struct {
		name          string
		seen          seenHdr
		c0, c1        walIndexHdr
		torn, changed bool
	}{
		{"both copies the recorded header", seenHdr{hdr: old}, old, old, false, false},
		{"both copies a new header", seenHdr{hdr: old}, next, next, false, true},
		{"copy 1 new, copy 0 still the recorded one", seenHdr{hdr: old}, old, next, true, true},
		{"copy 0 new, copy 1 not", seenHdr{hdr: old}, next, old, true, true},
		{"whole again after a torn recording of it", seenHdr{hdr: next, torn: true}, next, next, false, true},
	} {
		hdr, torn, changed := changedSince(shmWith(tc.c0, tc.c1), &tc.seen)
		if torn != tc.torn || changed != tc.changed {
			t.Errorf("%s: torn, changed = %v, %v; want %v, %v", tc.name, torn, changed, tc.torn, tc.changed)
		}
		if hdr != tc.c0 {
			t.Errorf("%s: header = %v, want copy 0 %v", tc.name, hdr, tc.c0)
		}
	}
	// One byte of difference anywhere in copy 1 is a torn read.
	for i := range walIndexHdrSize {
		shm := shmWith(old, old)
		shm[walIndexHdrSize+i] ^= 0x80
		if _, torn, changed := changedSince(shm, &seenHdr{hdr: old}); !torn || !changed {
			t.Errorf("copy 1 differing in byte %d: torn, changed = %v, %v; want true, true", i, torn, changed)
		}
	}
}

// TestWatchCountsTornHeaders drives the watch's counter over a header in
// memory through one commit: every check while the copies differ moves the
// count on, so no count read from a torn header is ever returned twice, and
// the finished header then moves it once more and holds it.
func TestWatchCountsTornHeaders(t *testing.T) {
	t.Parallel()
	old := walIndexHdr{3007000, 0, 41, 0x0101, 7, 9, 1, 2, 3, 4, 5, 6}
	next := old
	next[2]++
	w := &changeWatch{shm: shmWith(old, old)}
	w.seen.Store(&seenHdr{hdr: old})
	count := func() uint64 {
		t.Helper()
		n, err := w.changes()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := count()
	if again := count(); again != n {
		t.Fatalf("count moved from %d to %d with the header unchanged", n, again)
	}
	w.shm = shmWith(old, next) // the writer has stored copy 1 only
	for range 3 {
		if torn := count(); torn <= n {
			t.Fatalf("torn header: count = %d, want more than %d", torn, n)
		} else {
			n = torn
		}
	}
	w.shm = shmWith(next, next)
	if done := count(); done <= n {
		t.Fatalf("finished header after torn ones: count = %d, want more than %d", done, n)
	} else {
		n = done
	}
	if again := count(); again != n {
		t.Fatalf("count moved from %d to %d with the header unchanged", n, again)
	}
}

// TestShmRegistryClosesLast: a -shm file stays open while any store on it
// holds it or an Open is under way, and is closed once neither is true.
func TestShmRegistryClosesLast(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db-shm")
	if err := os.WriteFile(path, make([]byte, shmMinSize), 0o600); err != nil {
		t.Fatal(err)
	}
	var r shmRegistry
	isOpen := func(f *os.File) bool { _, err := f.Stat(); return err == nil }
	done := r.hold()
	a, err := r.open(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.open(path)
	if err != nil {
		t.Fatal(err)
	}
	done()
	if err := r.release(a); err != nil {
		t.Fatal(err)
	}
	if !isOpen(a) || !isOpen(b) {
		t.Fatal("a descriptor was closed while another store still holds the file")
	}
	done = r.hold() // an Open under way, perhaps on the same file
	if err := r.release(b); err != nil {
		t.Fatal(err)
	}
	if !isOpen(a) || !isOpen(b) {
		t.Fatal("a descriptor was closed while an Open was under way")
	}
	done()
	if isOpen(a) || isOpen(b) {
		t.Error("descriptors still open after the last release and the last Open")
	}
	if len(r.files) != 0 {
		t.Errorf("registry still lists %d files", len(r.files))
	}
}
