package http

import (
	"encoding/base64"
	"net/http"
	"strconv"
)

// Page sizes for the keyset-paginated lists.
const (
	defaultPageLimit = 50
	maxPageLimit     = 200
)

// pageRequest is a page's position: at most limit items past the cursor.
type pageRequest struct {
	limit int
	// after is the key of the last item of the previous page; 0 on the first page.
	after int64
}

// readPage reads limit (1–200, default 50) and after (a cursor from an
// earlier page's next_cursor) from the query. Anything else is a 400.
func readPage(r *http.Request) (pageRequest, error) {
	p := pageRequest{limit: defaultPageLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageLimit {
			return p, invalidQuery("limit must be an integer from 1 to 200")
		}
		p.limit = n
	}
	if v := q.Get("after"); v != "" {
		id, err := decodeCursor(v)
		if err != nil {
			return p, invalidQuery("after must be a next_cursor from an earlier page")
		}
		p.after = id
	}
	return p, nil
}

// cursorEncoding encodes a cursor: the unpadded base64url of the decimal
// id of a page's last item, documented as such. It is not sealed: every id
// it could hold is in the responses already, any id is a valid place to
// start a page, and the lists are admin-only, so a key shared by every
// replica would protect nothing. decodeCursor refuses every other form.
var cursorEncoding = base64.RawURLEncoding.Strict()

func encodeCursor(id int64) string {
	return cursorEncoding.EncodeToString(strconv.AppendInt(nil, id, 10))
}

func decodeCursor(s string) (int64, error) {
	b, err := cursorEncoding.DecodeString(s)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	// Only the one form encodeCursor gives: no sign, no leading zero, and no
	// line break, which base64 decoding skips.
	if err != nil || id < 1 || encodeCursor(id) != s {
		return 0, strconv.ErrSyntax
	}
	return id, nil
}

// nextCursor trims a page fetched with one item beyond the limit and returns
// the cursor to the next page, or "" when this page is the last.
func nextCursor[T any](items []T, limit int, key func(T) int64) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, encodeCursor(key(items[limit-1]))
}

func invalidQuery(detail string) error {
	return &problemError{status: http.StatusBadRequest, code: "invalid_query", detail: detail}
}
