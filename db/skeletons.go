package db

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"

	"roster/internal/uts39"
)

// goMigrations returns, new for each goose provider, the migrations that need Go, numbered among the SQL ones
// in sql/schema: 51 fills users.username_skeleton, added by 00050, for the
// accounts that existed before it. A dependency update that changes
// uts39.Skeleton (a new confusables table) adds another RecomputeSkeletons
// migration here, with a new number.
func goMigrations() goose.ProviderOption {
	return goose.WithGoMigrations(
		goose.NewGoMigration(51, &goose.GoFunc{RunTx: RecomputeSkeletons}, &goose.GoFunc{Mode: goose.TransactionEnabled}),
	)
}

// RecomputeSkeletons sets every account's username_skeleton from its
// username key, oldest account first: an account whose name looks like an
// older account's keeps NULL, so pairs of lookalike names that predate the
// rule both keep working.
func RecomputeSkeletons(ctx context.Context, tx *sql.Tx) error {
	q := New(tx)
	if err := q.ClearUsernameSkeletons(ctx); err != nil {
		return err
	}
	users, err := q.ListUsernameKeys(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		skeleton := uts39.Skeleton(u.UsernameKey)
		if _, err := q.SetUsernameSkeleton(ctx, SetUsernameSkeletonParams{UsernameSkeleton: &skeleton, ID: u.ID}); err != nil {
			return err
		}
	}
	return nil
}
