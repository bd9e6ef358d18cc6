package db

//go:generate go tool -modfile=../tools/go.mod sqlc generate -f ../sqlc.yaml
