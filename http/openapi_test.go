package http_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/go-chi/chi/v5"

	"roster/account"
	"roster/account/accounttest"
	rosterhttp "roster/http"
)

// openAPI loads and validates the embedded document once per test binary.
var openAPI = sync.OnceValues(func() (*openapi3.T, error) {
	// openapi3filter decodes no text/html, which POST /add answers (as the
	// tutorial's Flask view did): its body is checked as plain text.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	doc, err := openapi3.NewLoader().LoadFromData(rosterhttp.OpenAPIDocument)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

var openAPIRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openAPI()
	if err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := openAPI()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi.json: version %q, want 3.1", doc.OpenAPI)
	}
}

// TestOpenAPICoversRouter checks both directions: every chi route but the
// web console's is in the document and every operation in the document is
// routed.
func TestOpenAPICoversRouter(t *testing.T) {
	doc, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	var routed []string
	// With every optional route on: GET /metrics is routed only with a token.
	srv := rosterhttp.NewServer(accounttest.New(t), discardLog(), rosterhttp.Config{UI: true, MetricsToken: "t"})
	err = chi.Walk(srv.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// The web console is HTML for browsers, not API: its pages under
		// /ui/ and the redirect of / to them are left out of the document.
		if route == "/" || strings.HasPrefix(route, "/ui/") {
			return nil
		}
		routed = append(routed, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range routed {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("openapi.json documents %s, which is not routed", d)
		}
	}
}

// TestOpenAPIAuditActions keeps the document's list of audit actions equal
// to account.Actions, in order.
func TestOpenAPIAuditActions(t *testing.T) {
	doc, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	schema := doc.Components.Schemas["AuditAction"]
	if schema == nil {
		t.Fatal("openapi.json has no AuditAction schema")
	}
	var enum []string
	for _, v := range schema.Value.Enum {
		s, _ := v.(string)
		enum = append(enum, s)
	}
	if !slices.Equal(enum, account.Actions) {
		t.Errorf("openapi.json AuditAction enum = %q, want account.Actions %q", enum, account.Actions)
	}
	if ref := doc.Components.Schemas["AuditEvent"].Value.Properties["action"].Ref; ref != "#/components/schemas/AuditAction" {
		t.Errorf("AuditEvent.action is %q, want a reference to AuditAction", ref)
	}
}

func TestOpenAPIServed(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do("GET", "/openapi.json", "", "")
	want(t, "GET /openapi.json", r, http.StatusOK)
	if !bytes.Equal([]byte(r.body), rosterhttp.OpenAPIDocument) {
		t.Errorf("GET /openapi.json: body differs from the embedded document")
	}
}

// validateResponses makes every response ts's client receives be checked
// against openapi.json: its status must be documented for the operation and
// its headers and body must match. Requests are not checked, since tests send
// malformed ones on purpose, and neither are requests the document does not
// route (unknown paths and methods).
func validateResponses(t testing.TB, client *http.Client) {
	router, err := openAPIRouter()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client.Transport = &validatingTransport{base: base, router: router, t: t}
}

type validatingTransport struct {
	base   http.RoundTripper
	router routers.Router
	t      testing.TB
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := v.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return res, nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil // the caller sees the truncated body and reports it
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		v.t.Errorf("%s %s: %d response does not match openapi.json: %v\nbody=%s", req.Method, req.URL.Path,
			res.StatusCode, err, strings.TrimSpace(string(body)))
	}
	return res, nil
}
