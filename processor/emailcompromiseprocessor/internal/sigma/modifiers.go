package sigma

import (
	"fmt"
	"slices"
	"strings"
)

// modifiers is a field's modifier chain, validated: which transformations
// apply to its values in order, and how the results are compared.
type modifiers struct {
	transforms []string
	// compare is "" (wildcard string), "re", "cidr", "lt", "lte", "gt",
	// "gte", "exists" or "fieldref".
	compare string
	// wrap is "", "contains", "startswith" or "endswith".
	wrap     string
	reFlags  string
	timePart string
	all      bool
	cased    bool
	neq      bool
	expand   bool
}

var (
	transformModifiers = []string{"windash", "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "expand"}
	wrapModifiers      = []string{"contains", "startswith", "endswith"}
	numericModifiers   = []string{"lt", "lte", "gt", "gte"}
	timeModifiers      = []string{"minute", "hour", "day", "week", "month", "year"}
	regexFlags         = []string{"i", "m", "s"}
	knownModifiers     = slices.Concat(transformModifiers, wrapModifiers, numericModifiers, timeModifiers, regexFlags,
		[]string{"all", "exists", "cased", "neq", "re", "cidr", "fieldref"})
)

// parseModifiers validates the chain of a detection key such as
// "CommandLine|contains|all". It rejects what the specification does not
// define and combinations whose meaning would be a guess.
func parseModifiers(chain []string) (modifiers, error) {
	var m modifiers
	seen := map[string]bool{}
	setCompare := func(name string) error {
		if m.compare != "" {
			return fmt.Errorf("modifiers %q and %q cannot be combined", m.compare, name)
		}
		m.compare = name
		return nil
	}
	for _, name := range chain {
		if !slices.Contains(knownModifiers, name) {
			return m, fmt.Errorf("unknown modifier %q (known: %s)", name, strings.Join(knownModifiers, ", "))
		}
		if seen[name] {
			return m, fmt.Errorf("modifier %q repeated", name)
		}
		seen[name] = true
		var err error
		switch {
		case slices.Contains(transformModifiers, name):
			m.transforms = append(m.transforms, name)
			m.expand = m.expand || name == "expand"
		case slices.Contains(wrapModifiers, name):
			if m.wrap != "" {
				return m, fmt.Errorf("modifiers %q and %q cannot be combined", m.wrap, name)
			}
			m.wrap = name
		case slices.Contains(regexFlags, name):
			if m.compare != "re" {
				return m, fmt.Errorf("modifier %q is a flag of re and must follow it", name)
			}
			m.reFlags += name
		case slices.Contains(timeModifiers, name):
			if m.timePart != "" {
				return m, fmt.Errorf("modifiers %q and %q cannot be combined", m.timePart, name)
			}
			m.timePart = name
		case name == "all":
			m.all = true
		case name == "cased":
			m.cased = true
		case name == "neq":
			m.neq = true
		default: // re, cidr, lt, lte, gt, gte, exists, fieldref
			err = setCompare(name)
		}
		if err != nil {
			return m, err
		}
	}
	return m, m.check()
}

// check rejects combinations that have no defined meaning.
func (m modifiers) check() error {
	onlyString := func(what string) error {
		if len(m.transforms) > 0 || m.wrap != "" || m.cased {
			return fmt.Errorf("%s cannot be combined with string modifiers", what)
		}
		return nil
	}
	switch c := m.compare; {
	case c == "exists":
		if len(m.transforms) > 0 || m.wrap != "" || m.cased || m.all || m.neq || m.timePart != "" {
			return fmt.Errorf("exists cannot be combined with other modifiers")
		}
	case c == "re":
		if len(m.transforms) > 0 || m.wrap != "" || m.cased || m.timePart != "" {
			return fmt.Errorf("re cannot be combined with transformation, contains/startswith/endswith, cased or time modifiers (use re|i for case-insensitive)")
		}
	case c == "cidr":
		if err := onlyString("cidr"); err != nil {
			return err
		}
		if m.timePart != "" {
			return fmt.Errorf("cidr cannot be combined with time modifiers")
		}
	case slices.Contains(numericModifiers, c):
		if err := onlyString(c); err != nil {
			return err
		}
		if m.neq {
			return fmt.Errorf("neq cannot be combined with %s", c)
		}
	case c == "fieldref":
		if len(m.transforms) > 0 || m.timePart != "" {
			return fmt.Errorf("fieldref cannot be combined with transformation or time modifiers")
		}
	}
	if m.timePart != "" {
		if err := onlyString(m.timePart); err != nil {
			return err
		}
	}
	if m.neq && m.all {
		return fmt.Errorf("neq cannot be combined with all")
	}
	return nil
}
