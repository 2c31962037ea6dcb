package sigma

import (
	"fmt"
	"path"
	"strings"
)

type condOp uint8

const (
	condRef condOp = iota
	condAnd
	condOr
	condNot
)

// condNode is a compiled condition: references to search identifiers (by
// index) combined with and, or and not. "1 of" / "all of" are expanded into
// or / and at compile time.
type condNode struct {
	op   condOp
	ref  int
	kids []*condNode
}

// maxConditionDepth bounds nesting (parentheses, not chains) so that a
// hostile condition cannot exhaust the stack of the parser or the matcher.
const maxConditionDepth = 64

// parseCondition compiles a condition over the named search identifiers,
// per the specification's grammar and precedence (or < and < not < x of <
// parentheses).
func parseCondition(text string, idents []string) (*condNode, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	p := &condParser{toks: toks, idents: idents}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, fmt.Errorf("condition: unexpected %s at position %d", t, t.pos)
	}
	return n, nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokNumber
	tokAnd
	tokOr
	tokNot
	tokOf
	tokAll
	tokThem
	tokOpen
	tokClose
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "end of condition"
	}
	return fmt.Sprintf("%q", t.text)
}

var condKeywords = map[string]tokKind{"and": tokAnd, "or": tokOr, "not": tokNot, "of": tokOf, "all": tokAll, "them": tokThem}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{kind: tokOpen, text: "(", pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokClose, text: ")", pos: i})
			i++
		case c == '|':
			return nil, fmt.Errorf("condition: aggregation expressions (\"| count() ...\") were removed in Sigma v2; express the aggregation as a correlation rule")
		case isIdentByte(c):
			start := i
			for i < len(s) && isIdentByte(s[i]) {
				i++
			}
			word := s[start:i]
			kind := tokIdent
			if k, ok := condKeywords[strings.ToLower(word)]; ok {
				kind = k
			} else if strings.Trim(word, "0123456789") == "" {
				kind = tokNumber
			}
			if strings.EqualFold(word, "near") {
				return nil, fmt.Errorf("condition: the near operator was removed in Sigma v2; express it as a temporal correlation rule")
			}
			toks = append(toks, token{kind: kind, text: word, pos: start})
		default:
			return nil, fmt.Errorf("condition: unexpected character %q at position %d", c, i)
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(s)}), nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '*' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

type condParser struct {
	toks   []token
	pos    int
	idents []string
}

func (p *condParser) peek() token { return p.toks[p.pos] }

func (p *condParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *condParser) or(depth int) (*condNode, error) {
	return p.binary(depth, tokOr, condOr, p.and)
}

func (p *condParser) and(depth int) (*condNode, error) {
	return p.binary(depth, tokAnd, condAnd, p.not)
}

func (p *condParser) binary(depth int, tok tokKind, op condOp, operand func(int) (*condNode, error)) (*condNode, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	kids := []*condNode{first}
	for p.peek().kind == tok {
		p.next()
		n, err := operand(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &condNode{op: op, kids: kids}, nil
}

func (p *condParser) not(depth int) (*condNode, error) {
	if depth > maxConditionDepth {
		return nil, fmt.Errorf("condition: nested deeper than %d levels", maxConditionDepth)
	}
	if p.peek().kind != tokNot {
		return p.primary(depth)
	}
	p.next()
	n, err := p.not(depth + 1)
	if err != nil {
		return nil, err
	}
	return &condNode{op: condNot, kids: []*condNode{n}}, nil
}

func (p *condParser) primary(depth int) (*condNode, error) {
	t := p.next()
	switch t.kind {
	case tokOpen:
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokClose {
			return nil, fmt.Errorf("condition: expected \")\" at position %d, found %s", c.pos, c)
		}
		return n, nil
	case tokNumber, tokAll:
		return p.quantified(t)
	case tokIdent:
		if strings.Contains(t.text, "*") {
			return nil, fmt.Errorf("condition: the pattern %q must follow \"1 of\" or \"all of\"", t.text)
		}
		for i, id := range p.idents {
			if id == t.text {
				return &condNode{op: condRef, ref: i}, nil
			}
		}
		return nil, fmt.Errorf("condition: %q is not a search identifier of this rule's detection", t.text)
	}
	return nil, fmt.Errorf("condition: unexpected %s at position %d", t, t.pos)
}

// quantified reads "1 of X" / "all of X", X a pattern or "them".
func (p *condParser) quantified(q token) (*condNode, error) {
	if q.kind == tokNumber && q.text != "1" {
		return nil, fmt.Errorf("condition: %q: the specification defines only \"1 of\" and \"all of\"", q.text+" of")
	}
	if t := p.next(); t.kind != tokOf {
		return nil, fmt.Errorf("condition: expected \"of\" after %q at position %d, found %s", q.text, t.pos, t)
	}
	target := p.next()
	var refs []*condNode
	switch target.kind {
	case tokThem:
		// "them" leaves out identifiers starting with an underscore.
		for i, id := range p.idents {
			if !strings.HasPrefix(id, "_") {
				refs = append(refs, &condNode{op: condRef, ref: i})
			}
		}
	case tokIdent:
		for i, id := range p.idents {
			if ok, _ := path.Match(target.text, id); ok && (!strings.HasPrefix(id, "_") || strings.HasPrefix(target.text, "_")) {
				refs = append(refs, &condNode{op: condRef, ref: i})
			}
		}
	default:
		return nil, fmt.Errorf("condition: expected a search identifier pattern or \"them\" at position %d, found %s", target.pos, target)
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("condition: %q matches no search identifier", q.text+" of "+target.text)
	}
	if len(refs) == 1 {
		return refs[0], nil
	}
	op := condOr
	if q.kind == tokAll {
		op = condAnd
	}
	return &condNode{op: op, kids: refs}, nil
}
