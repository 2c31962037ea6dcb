// Command doccheck fails when an exported identifier of the packages in the
// given directories has no doc comment, as golint's exported check did.
// staticcheck checks the form of the comments that exist (ST1020-ST1022:
// they begin with the identifier's name); it does not ask for them.
//
//	doccheck DIR...
//
// Checked, in the non-test files of each directory: the package comment;
// exported functions, types, constants and variables; methods of exported
// types; exported fields of exported structs and methods of exported
// interfaces. A constant or variable in a parenthesised group is covered by
// the group's comment. A field or interface method is covered by its own
// comment, a comment at the end of its line, or a comment of the same type
// (the type's or another field's) that names it: "Start and End are
// RFC 3339 times".
package main

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: doccheck DIR...")
		os.Exit(2)
	}
	var problems []string
	for _, dir := range os.Args[1:] {
		p, err := checkDir(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "doccheck:", err)
			os.Exit(2)
		}
		problems = append(problems, p...)
	}
	for _, p := range problems {
		fmt.Println(p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

// checkDir returns a "file:line: what" line per undocumented identifier of
// the package in dir (its files for this platform, without tests).
func checkDir(dir string) ([]string, error) {
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	c := &checker{fset: fset}
	documented := false
	for _, name := range append(bp.GoFiles, bp.CgoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		documented = documented || f.Doc != nil
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				c.funcDecl(d)
			case *ast.GenDecl:
				c.genDecl(d)
			}
		}
	}
	if !documented {
		c.problems = append(c.problems, problem{pos: token.Position{Filename: dir}, what: "package " + bp.Name})
	}
	sort.Slice(c.problems, func(i, j int) bool {
		a, b := c.problems[i].pos, c.problems[j].pos
		return a.Filename < b.Filename || (a.Filename == b.Filename && a.Offset < b.Offset)
	})
	var out []string
	for _, p := range c.problems {
		out = append(out, fmt.Sprintf("%s: %s has no doc comment", p.pos, p.what))
	}
	return out, nil
}

type problem struct {
	pos  token.Position
	what string
}

type checker struct {
	fset     *token.FileSet
	problems []problem
}

func (c *checker) report(pos token.Pos, format string, args ...any) {
	c.problems = append(c.problems, problem{pos: c.fset.Position(pos), what: fmt.Sprintf(format, args...)})
}

func (c *checker) funcDecl(d *ast.FuncDecl) {
	if !d.Name.IsExported() || d.Doc != nil {
		return
	}
	if d.Recv == nil {
		c.report(d.Name.Pos(), "function %s", d.Name.Name)
		return
	}
	// Methods of unexported types are not in the package's documentation.
	if recv := receiverType(d.Recv.List[0].Type); recv != "" && ast.IsExported(recv) {
		c.report(d.Name.Pos(), "method %s.%s", recv, d.Name.Name)
	}
}

// receiverType is the name of a receiver's type: T, *T, T[P], *T[P].
func receiverType(e ast.Expr) string {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.ParenExpr:
			e = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

func (c *checker) genDecl(d *ast.GenDecl) {
	grouped := d.Lparen.IsValid()
	for _, spec := range d.Specs {
		switch s := spec.(type) {
		case *ast.TypeSpec:
			if !s.Name.IsExported() {
				continue
			}
			doc := s.Doc
			if doc == nil && !grouped {
				doc = d.Doc
			}
			if doc == nil {
				c.report(s.Name.Pos(), "type %s", s.Name.Name)
			}
			c.members(s, doc)
		case *ast.ValueSpec:
			if s.Doc != nil || s.Comment != nil || d.Doc != nil {
				continue
			}
			for _, n := range s.Names {
				if n.IsExported() {
					c.report(n.Pos(), "%s %s", d.Tok, n.Name)
				}
			}
		}
	}
}

// members checks the exported fields of a struct type and the methods of an
// interface type; typeDoc is the type's comment.
func (c *checker) members(s *ast.TypeSpec, typeDoc *ast.CommentGroup) {
	var list *ast.FieldList
	kind := "field"
	switch t := s.Type.(type) {
	case *ast.StructType:
		list = t.Fields
	case *ast.InterfaceType:
		list, kind = t.Methods, "method"
	default:
		return
	}
	// Every comment of the type, for fields documented together.
	comments := []string{typeDoc.Text()}
	for _, f := range list.List {
		comments = append(comments, f.Doc.Text(), f.Comment.Text())
	}
	for _, f := range list.List {
		if f.Doc != nil || f.Comment != nil {
			continue
		}
		// Embedded fields and types are documented where they are declared.
		for _, n := range f.Names {
			if n.IsExported() && !named(comments, n.Name) {
				c.report(n.Pos(), "%s %s.%s", kind, s.Name.Name, n.Name)
			}
		}
	}
}

// named reports whether one of the comments names the identifier as a word.
func named(comments []string, name string) bool {
	word := regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`)
	for _, c := range comments {
		if word.MatchString(c) {
			return true
		}
	}
	return false
}
