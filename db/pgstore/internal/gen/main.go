// Command gen writes db/pgstore/queries.go from the Querier interfaces that
// sqlc generates in db (SQLite) and db/pg (PostgreSQL). Run it from
// db/pgstore (go generate). It fails, naming the query, when a query exists
// on one engine only without being listed in package parity, or when a
// signature or struct differs between the two packages; the generated file
// then proves the rest by compiling.
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"roster/db/parity"
)

// pkg is what gen needs of one sqlc package.
type pkg struct {
	methods map[string]*ast.FuncType
	order   []string // method names in Querier order
	structs map[string]*ast.StructType
	models  []string // the struct types of models.go: one per table
}

func load(dir string) (*pkg, error) {
	p := &pkg{methods: map[string]*ast.FuncType{}, structs: map[string]*ast.StructType{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	found := false
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			switch t := ts.Type.(type) {
			case *ast.StructType:
				p.structs[ts.Name.Name] = t
				if filepath.Base(path) == "models.go" {
					p.models = append(p.models, ts.Name.Name)
				}
			case *ast.InterfaceType:
				if ts.Name.Name != "Querier" {
					break
				}
				found = true
				for _, m := range t.Methods.List {
					p.methods[m.Names[0].Name] = m.Type.(*ast.FuncType)
					p.order = append(p.order, m.Names[0].Name)
				}
			}
			return false
		})
	}
	if !found {
		return nil, fmt.Errorf("%s: no Querier interface (sqlc's emit_interface)", dir)
	}
	sort.Strings(p.models)
	return p, nil
}

var predeclared = map[string]bool{
	"bool": true, "byte": true, "error": true, "float32": true, "float64": true, "int": true,
	"int16": true, "int32": true, "int64": true, "int8": true, "rune": true, "string": true,
	"uint": true, "uint16": true, "uint32": true, "uint64": true, "uint8": true, "any": true,
}

// local reports whether e names a type declared in the sqlc package itself.
func local(e ast.Expr) (string, bool) {
	id, ok := e.(*ast.Ident)
	if !ok || predeclared[id.Name] || !ast.IsExported(id.Name) {
		return "", false
	}
	return id.Name, true
}

// typ prints e with the package's own types qualified by qual ("" for none).
func typ(e ast.Expr, qual string) string {
	switch t := e.(type) {
	case *ast.Ident:
		if _, ok := local(t); ok && qual != "" {
			return qual + "." + t.Name
		}
		return t.Name
	case *ast.StarExpr:
		return "*" + typ(t.X, qual)
	case *ast.ArrayType:
		if t.Len != nil {
			panic("array types are not supported")
		}
		return "[]" + typ(t.Elt, qual)
	case *ast.SelectorExpr:
		return typ(t.X, "") + "." + t.Sel.Name
	case *ast.InterfaceType:
		return "interface{}"
	}
	panic(fmt.Sprintf("unsupported type %T", e))
}

type field struct{ name, typ string }

func fields(s *ast.StructType) []field {
	var out []field
	for _, f := range s.Fields.List {
		for _, n := range f.Names {
			out = append(out, field{n.Name, typ(f.Type, "")})
		}
		if len(f.Names) == 0 {
			out = append(out, field{typ(f.Type, ""), typ(f.Type, "")})
		}
	}
	return out
}

type gen struct {
	db, pg  *pkg
	errs    []string
	helpers map[string]string // name → source
	checked map[string]bool
}

func (g *gen) errorf(format string, args ...any) {
	g.errs = append(g.errs, fmt.Sprintf(format, args...))
}

// sameStruct checks that the struct named name has the same fields in both
// packages, recursing into the package's own types.
func (g *gen) sameStruct(name string) {
	if g.checked[name] {
		return
	}
	g.checked[name] = true
	d, p := g.db.structs[name], g.pg.structs[name]
	if d == nil || p == nil {
		g.errorf("type %s: db has it: %v, pg has it: %v", name, d != nil, p != nil)
		return
	}
	fd, fp := fields(d), fields(p)
	if !slices.Equal(fd, fp) {
		g.errorf("type %s differs:\n\tdb: %v\n\tpg: %v", name, fd, fp)
	}
	for _, f := range d.Fields.List {
		if n, ok := local(f.Type); ok {
			g.sameStruct(n)
		}
	}
}

// nested reports whether the struct name has a field of the package's own
// type, which Go's struct conversion cannot convert.
func (g *gen) nested(name string) bool {
	for _, f := range g.db.structs[name].Fields.List {
		if _, ok := local(f.Type); ok {
			return true
		}
	}
	return false
}

// convert returns the Go expression that converts x, of type e in package
// from, to the same-named type in package to.
func (g *gen) convert(x string, e ast.Expr, from, to string) string {
	if n, ok := local(e); ok {
		if !g.nested(n) {
			return fmt.Sprintf("%s.%s(%s)", to, n, x)
		}
		fn := to + n
		if _, ok := g.helpers[fn]; !ok {
			var b strings.Builder
			fmt.Fprintf(&b, "func %s(x %s.%s) %s.%s {\n\treturn %s.%s{\n", fn, from, n, to, n, to, n)
			for _, f := range g.db.structs[n].Fields.List {
				for _, name := range f.Names {
					fmt.Fprintf(&b, "\t\t%s: %s,\n", name.Name, g.convert("x."+name.Name, f.Type, from, to))
				}
			}
			b.WriteString("\t}\n}\n")
			g.helpers[fn] = b.String()
		}
		return fmt.Sprintf("%s(%s)", fn, x)
	}
	if a, ok := e.(*ast.ArrayType); ok {
		if n, ok := local(a.Elt); ok {
			fn := to + n + "Slice"
			if _, ok := g.helpers[fn]; !ok {
				g.helpers[fn] = fmt.Sprintf(`func %s(xs []%s.%s) []%s.%s {
	if xs == nil {
		return nil
	}
	out := make([]%s.%s, len(xs))
	for i, x := range xs {
		out[i] = %s
	}
	return out
}
`, fn, from, n, to, n, to, n, g.convert("x", a.Elt, from, to))
			}
			return fmt.Sprintf("%s(%s)", fn, x)
		}
	}
	return x
}

func (g *gen) run() ([]byte, error) {
	var shared []string
	for _, name := range g.db.order {
		_, twin := g.pg.methods[name]
		_, listed := parity.SQLiteOnly[name]
		switch {
		case listed && twin:
			g.errorf("%s: listed in parity.SQLiteOnly but db/pg has it too", name)
		case listed:
		case !twin:
			g.errorf("%s: db has it, db/pg has not (add it for PostgreSQL, or to parity.SQLiteOnly)", name)
		default:
			shared = append(shared, name)
		}
	}
	for _, name := range g.pg.order {
		if _, ok := g.db.methods[name]; !ok {
			if _, listed := parity.PostgresOnly[name]; !listed {
				g.errorf("%s: db/pg has it, db has not (add it for SQLite, or to parity.PostgresOnly)", name)
			}
		}
	}
	if !slices.Equal(g.db.models, g.pg.models) {
		g.errorf("tables differ: db has %v, db/pg has %v", g.db.models, g.pg.models)
	}
	for _, m := range g.db.models {
		g.sameStruct(m)
	}

	var iface, methods bytes.Buffer
	for _, name := range shared {
		d, p := g.db.methods[name], g.pg.methods[name]
		sig := func(ft *ast.FuncType) string {
			var s []string
			for _, l := range []*ast.FieldList{ft.Params, ft.Results} {
				if l == nil {
					continue
				}
				for _, f := range l.List {
					s = append(s, typ(f.Type, ""))
				}
			}
			return strings.Join(s, ", ")
		}
		if sig(d) != sig(p) {
			g.errorf("%s: db has (%s), db/pg has (%s)", name, sig(d), sig(p))
			continue
		}
		var params, args []string
		for i, f := range d.Params.List {
			pn := fmt.Sprintf("p%d", i)
			if len(f.Names) == 1 {
				pn = f.Names[0].Name
			}
			params = append(params, pn+" "+typ(f.Type, "db"))
			args = append(args, g.convert(pn, f.Type, "db", "pg"))
			if n, ok := local(f.Type); ok {
				g.sameStruct(n)
			}
		}
		var results []string
		for _, f := range d.Results.List {
			results = append(results, typ(f.Type, "db"))
		}
		fmt.Fprintf(&iface, "\t%s(%s) (%s)\n", name, strings.Join(params, ", "), strings.Join(results, ", "))
		fmt.Fprintf(&methods, "// %s runs pg.Queries.%s.\n", name, name)
		fmt.Fprintf(&methods, "func (q *Queries) %s(%s) (%s) {\n", name, strings.Join(params, ", "), strings.Join(results, ", "))
		call := fmt.Sprintf("q.q.%s(%s)", name, strings.Join(args, ", "))
		if len(d.Results.List) == 1 {
			fmt.Fprintf(&methods, "\treturn %s\n}\n\n", call)
			continue
		}
		r := d.Results.List[0].Type
		if n, ok := local(r); ok {
			g.sameStruct(n)
		} else if a, ok := r.(*ast.ArrayType); ok {
			if n, ok := local(a.Elt); ok {
				g.sameStruct(n)
			}
		}
		if conv := g.convert("r", r, "pg", "db"); conv != "r" {
			fmt.Fprintf(&methods, "\tr, err := %s\n\treturn %s, err\n}\n\n", call, conv)
		} else {
			fmt.Fprintf(&methods, "\treturn %s\n}\n\n", call)
		}
	}
	if len(g.errs) > 0 {
		return nil, fmt.Errorf("db and db/pg differ:\n%s", strings.Join(g.errs, "\n"))
	}

	var only []string
	for name := range parity.SQLiteOnly {
		only = append(only, name)
	}
	sort.Strings(only)
	var b bytes.Buffer
	b.WriteString("// Code generated by db/pgstore/internal/gen; DO NOT EDIT.\n\npackage pgstore\n\n")
	b.WriteString("import (\n\t\"context\"\n")
	if strings.Contains(iface.String(), "time.") {
		b.WriteString("\t\"time\"\n")
	}
	b.WriteString("\n\t\"roster/db\"\n\t\"roster/db/pg\"\n)\n\n")
	fmt.Fprintf(&b, "// Querier is db.Querier without the queries only SQLite has (%s):\n", strings.Join(only, ", "))
	b.WriteString("// what both engines run, with package db's types.\n")
	b.WriteString("type Querier interface {\n")
	b.Write(iface.Bytes())
	b.WriteString("}\n\nvar (\n\t_ Querier = (*db.Queries)(nil)\n\t_ Querier = (*Queries)(nil)\n)\n\n")
	b.WriteString("// Each table's struct converts between the packages: same columns, same order, same Go types.\nvar (\n")
	for _, m := range g.db.models {
		fmt.Fprintf(&b, "\t_ = db.%s(pg.%s{})\n", m, m)
	}
	b.WriteString(")\n\n")
	b.Write(methods.Bytes())
	var names []string
	for n := range g.helpers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString(g.helpers[n] + "\n")
	}
	return format.Source(b.Bytes())
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "pgstore/internal/gen:", err)
		os.Exit(1)
	}
}

func run() error {
	src, err := generate("..", "../pg")
	if err != nil {
		return err
	}
	return os.WriteFile("queries.go", src, 0o644)
}

// generate returns the source of queries.go for the sqlc packages in dbDir
// and pgDir.
func generate(dbDir, pgDir string) ([]byte, error) {
	d, err := load(dbDir)
	if err != nil {
		return nil, err
	}
	p, err := load(pgDir)
	if err != nil {
		return nil, err
	}
	g := &gen{db: d, pg: p, helpers: map[string]string{}, checked: map[string]bool{}}
	return g.run()
}
