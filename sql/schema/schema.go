// Package schema embeds the numbered goose migrations that define roster's
// database. sqlc reads the same files to type-check the queries in sql/queries.
package schema

import "embed"

// FS holds every migration, applied in file-name order.
//
//go:embed *.sql
var FS embed.FS
