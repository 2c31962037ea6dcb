package corpus

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// SigmaRuleVariant returns a Sigma rule made from data, the YAML of one
// rule: its id suffixed with -v<v> and every detection value with _v<v>, so
// that it keeps the rule's shape (equalities, contains, lists, condition)
// while matching other values. Benchmarks use variants to reach rule counts
// beyond the corpus's SigmaHQ cloud rules.
func SigmaRuleVariant(data []byte, v int) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("not a YAML document")
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		switch root.Content[i].Value {
		case "id":
			root.Content[i+1].Value += fmt.Sprintf("-v%d", v)
		case "detection":
			suffixValues(root.Content[i+1], fmt.Sprintf("_v%d", v))
		}
	}
	return yaml.Marshal(&doc)
}

func suffixValues(n *yaml.Node, suffix string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value != "condition" {
				suffixValues(n.Content[i+1], suffix)
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			suffixValues(c, suffix)
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" || n.Tag == "!!int" {
			n.Value += suffix
			n.Tag, n.Style = "!!str", yaml.SingleQuotedStyle
		}
	}
}
