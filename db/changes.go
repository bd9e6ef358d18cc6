package db

import "errors"

// errStoreClosed is what Changes answers once the store is closed.
var errStoreClosed = errors.New("db: store is closed")

// Changes returns a number that grows whenever a commit to the database, by
// this process or any other (such as `roster user disable` run beside the
// server), has become visible since an earlier call. Whatever a caller reads
// from the database after Changes returned n is still current when a later
// call returns n again, so it may be kept until then.
func (s *SQLite) Changes() (uint64, error) { return s.watch.changes() }
