package sigma

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileBudget bounds what compiling one rule file may cost, whatever its
// content: nodes read (each node reached through an alias counts again, so
// an alias bomb fails fast instead of expanding) and matcher alternatives
// (windash and placeholder expansions multiply values). A file's own text
// pays for one node per byte; beyond that the allowances below are far
// above what real rules use (a few hundred nodes and alternatives each).
// Depth needs no bound of its own: a rule's shape is a few levels deep and
// anything deeper is rejected by shape before it is walked.
type fileBudget struct {
	nodes, alternatives int
}

const (
	aliasNodeAllowance  = 10_000
	maxFileAlternatives = 1 << 16
)

func newFileBudget(size int) *fileBudget {
	return &fileBudget{nodes: size + aliasNodeAllowance, alternatives: maxFileAlternatives}
}

// yamlDoc is one document of a rule file, with the line it starts on.
type yamlDoc struct {
	text []byte
	line int
}

// splitDocuments cuts a multi-document file at its "---" and "..." lines,
// so that a malformed document costs only itself and line numbers stay
// those of the file.
func splitDocuments(data []byte) []yamlDoc {
	var docs []yamlDoc
	start, startLine, line := 0, 1, 1
	for pos := 0; pos < len(data); line++ {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		if isDocumentMarker(data[pos:next]) {
			docs = append(docs, yamlDoc{text: data[start:pos], line: startLine})
			start, startLine = next, line+1
		}
		pos = next
	}
	docs = append(docs, yamlDoc{text: data[start:], line: startLine})
	return docs
}

func isDocumentMarker(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) && !bytes.HasPrefix(line, []byte("...")) {
		return false
	}
	rest := line[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\r' || rest[0] == '\n'
}

// parseDocument parses one document into a node tree whose lines are the
// file's (so that documents merged by a Sigma v1 collection keep theirs);
// aliases stay unexpanded. It returns nil for a document with no content.
func parseDocument(d yamlDoc) (node *yaml.Node, err error) {
	// The parser is third-party code fed untrusted input: a panic inside it
	// must cost one document, not the collector.
	defer func() {
		if r := recover(); r != nil {
			node, err = nil, lineError(d.line, fmt.Sprintf("YAML parser failed: %v", r))
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(d.text, &doc); err != nil {
		line, msg := yamlErrorLine(err.Error())
		return nil, lineError(d.line+max(line-1, 0), "malformed YAML: "+msg)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	shiftLines(doc.Content[0], d.line-1)
	return doc.Content[0], nil
}

// shiftLines adds offset to the line of every node of the tree. Aliases are
// not followed: the node an alias names sits in the tree itself.
func shiftLines(n *yaml.Node, offset int) {
	n.Line += offset
	for _, c := range n.Content {
		shiftLines(c, offset)
	}
}

// yamlErrorLine splits the parser's "yaml: line N: what" into N (within the
// document) and what.
func yamlErrorLine(msg string) (int, string) {
	rest, ok := strings.CutPrefix(msg, "yaml: line ")
	if !ok {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	num, what, ok := strings.Cut(rest, ": ")
	line, err := strconv.Atoi(num)
	if !ok || err != nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	return line, what
}

// walker reads the node tree of one document, following aliases, within
// its file's budget.
type walker struct {
	budget *fileBudget
}

func newWalker(budget *fileBudget) *walker { return &walker{budget: budget} }

func (w *walker) line(n *yaml.Node) int { return n.Line }

// resolve follows an alias to its anchored node and charges the budget.
func (w *walker) resolve(n *yaml.Node) (*yaml.Node, error) {
	line := w.line(n)
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, lineError(line, "unresolvable YAML alias")
		}
		n = n.Alias
	}
	w.budget.nodes--
	if w.budget.nodes < 0 {
		return nil, lineError(line, fmt.Sprintf("YAML expands to more than %d nodes beyond the file's size (alias bomb?)", aliasNodeAllowance))
	}
	return n, nil
}

// pair is one key/value of a mapping, the key as text.
type pair struct {
	key   string
	line  int
	value *yaml.Node
}

// mapping returns the pairs of a mapping node, in document order.
func (w *walker) mapping(n *yaml.Node, what string) ([]pair, error) {
	n, err := w.resolve(n)
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, lineError(w.line(n), what+" must be a mapping")
	}
	pairs := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := w.resolve(n.Content[i])
		if err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode {
			return nil, lineError(w.line(k), what+": keys must be plain text")
		}
		if k.Tag == "!!merge" {
			return nil, lineError(w.line(k), what+": YAML merge keys (<<) are not supported in Sigma rules")
		}
		pairs = append(pairs, pair{key: k.Value, line: w.line(k), value: n.Content[i+1]})
	}
	return pairs, nil
}

// list returns the items of a sequence node; a scalar reads as a list of one.
func (w *walker) list(n *yaml.Node) ([]*yaml.Node, error) {
	n, err := w.resolve(n)
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.SequenceNode {
		return []*yaml.Node{n}, nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		c, err := w.resolve(c)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// text returns a scalar's text.
func (w *walker) text(n *yaml.Node, what string) (string, error) {
	n, err := w.resolve(n)
	if err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", lineError(w.line(n), what+" must be text")
	}
	return n.Value, nil
}

// boolean reads true or false (YAML's booleans, or the same words quoted).
func (w *walker) boolean(n *yaml.Node, what string) (bool, error) {
	text, err := w.text(n, what)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(text) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, lineError(w.line(n), fmt.Sprintf("%s takes true or false, not %q", what, text))
}

// texts returns a list of scalars' texts (a single scalar reads as one).
func (w *walker) texts(n *yaml.Node, what string) ([]string, error) {
	items, err := w.list(n)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := w.text(it, what)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// posError is an error at a line of the rule file.
type posError struct {
	line int
	msg  string
}

func (e *posError) Error() string { return e.msg }

func lineError(line int, msg string) error { return &posError{line: line, msg: msg} }
