// Package ui holds the web console's templates and style sheet, embedded in
// the binary; roster/http serves them under /ui/. Its tests drive the
// console in a real browser (chromium, through chromedp).
package ui

import "embed"

// FS holds templates/*.html (layout.html plus one file per page) and static/.
//
//go:embed templates static
var FS embed.FS
