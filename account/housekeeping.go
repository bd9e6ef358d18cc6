package account

import (
	"context"
	"time"

	"roster/db"
)

// PurgeExpired deletes the sessions past their absolute or idle lifetime,
// the mailed tokens past their expiry, the device tokens unused for
// DeviceTTL, expired login challenges and passkey ceremonies, and the login
// throttle's forgotten rows at s.Now, at most batch rows per statement so that no call holds
// the writer for long. It returns how many sessions and tokens (mailed and
// device) it deleted.
func (s *Service) PurgeExpired(ctx context.Context, batch int) (sessions, tokens int64, err error) {
	now := s.now()
	sessions, err = inBatches(batch, func(limit int64) (int64, error) {
		return s.Store.Write.DeleteExpiredSessions(ctx, db.DeleteExpiredSessionsParams{
			Now: now, IdleBefore: now.Add(-s.IdleTTL), Batch: limit,
		})
	})
	if err != nil {
		return sessions, 0, err
	}
	tokens, err = inBatches(batch, func(limit int64) (int64, error) {
		return s.Store.Write.PurgeExpiredUserTokens(ctx, db.PurgeExpiredUserTokensParams{Now: now, Batch: limit})
	})
	if err != nil {
		return sessions, tokens, err
	}
	devices, err := inBatches(batch, func(limit int64) (int64, error) {
		return s.Store.Write.DeleteStaleLoginDevices(ctx, db.DeleteStaleLoginDevicesParams{Cutoff: now.Add(-DeviceTTL), Now: &now, Batch: limit})
	})
	if err != nil {
		return sessions, tokens + devices, err
	}
	// Abandoned second steps and passkey ceremonies: expired ones are
	// refused already.
	if _, err := s.Store.Write.DeleteExpiredMFAChallenges(ctx, now); err != nil {
		return sessions, tokens + devices, err
	}
	if _, err := s.Store.Write.DeleteExpiredCeremonies(ctx, now); err != nil {
		return sessions, tokens + devices, err
	}
	// The login throttle's forgotten rows: loginPair and later() already
	// read them as empty, so deleting them only saves space.
	if err := s.Store.Write.DeleteStaleLoginPairs(ctx, now.Add(-pairMemory)); err != nil {
		return sessions, tokens + devices, err
	}
	return sessions, tokens + devices, s.Store.Write.DeleteStaleLoginAccounts(ctx, now)
}

// TakeLease reports whether holder (one replica, named for operators) takes
// the lease name for ttl from s.Now: of the replicas sharing the database,
// one takes it and the others get false until it expires. Periodic jobs that
// must run once per interval across replicas (housekeeping) run only after
// taking their lease; a holder that dies keeps it until ttl runs out.
func (s *Service) TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	if err := s.Store.Write.CreateLease(ctx, db.CreateLeaseParams{Name: name, ExpiresAt: time.Unix(0, 0).UTC()}); err != nil {
		return false, err
	}
	n, err := s.Store.Write.TakeLease(ctx, db.TakeLeaseParams{Holder: holder, ExpiresAt: now.Add(ttl), Name: name, Now: now})
	return n == 1, err
}

// inBatches calls del until it deletes fewer than batch rows, and returns
// the total.
func inBatches(batch int, del func(limit int64) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := del(int64(batch))
		total += n
		if err != nil || n < int64(batch) {
			return total, err
		}
	}
}

// CountLiveSessions counts the sessions that Authenticate would accept now.
// It reads every live session's row, on the store's connection for such
// counts (db.Store.Stats), so callers must not call it per request.
func (s *Service) CountLiveSessions(ctx context.Context) (int64, error) {
	now := s.now()
	return s.Store.Stats.CountLiveSessions(ctx, db.CountLiveSessionsParams{Now: now, IdleBefore: now.Add(-s.IdleTTL)})
}
