// Package schema embeds the numbered goose migrations that define roster's
// database on PostgreSQL. sqlc reads the same files to type-check the queries
// in sql/queries and sql/postgres/queries.
//
// 00031_baseline.sql creates, in one step, the schema SQLite reaches after its
// migrations 00001 to 00031 (sql/schema); every later migration has the same
// number on both engines.
package schema

import "embed"

// FS holds every migration, applied in file-name order.
//
//go:embed *.sql
var FS embed.FS
