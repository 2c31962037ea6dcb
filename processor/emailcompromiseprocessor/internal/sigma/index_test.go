package sigma

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A record meets only the rules whose discriminating equality its values
// satisfy, plus the rules no equality discriminates whose literals occur in
// it (the prefilter: "substring" needs "delete" in Operation), plus the
// rules that need no literal ("negated").
func TestIndexSelectsCandidates(t *testing.T) {
	rule := func(id, detection string) string {
		return "title: " + id + "\nid: " + id + "\nlogsource: {product: m365, service: audit}\ndetection:\n" + indent(detection, "    ")
	}
	e := mustCompile(t, Config{},
		rule("send", "sel:\n    Operation: Send\ncondition: sel"),
		rule("rules", "sel:\n    Operation: [New-InboxRule, Set-InboxRule]\n    Parameters|contains: ForwardTo\ncondition: sel"),
		// Workload is shared by many rules, Operation by few: Operation is chosen.
		rule("mailbox", "sel:\n    Workload: Exchange\n    Operation: Set-Mailbox\ncondition: sel"),
		rule("either", "a:\n    Operation: HardDelete\nb:\n    Operation: SoftDelete\ncondition: a or b"),
		rule("negated", "sel:\n    Operation: Send\ncondition: not sel"),
		rule("substring", "sel:\n    Operation|contains: Delete\ncondition: sel"),
		rule("never", "a:\n    Operation: Send\nb:\n    Operation: Create\ncondition: a and b"),
		rule("exchange", "sel:\n    Workload: Exchange\ncondition: sel"),
	)
	idx := e.bySource["o365"]
	candidates := func(json string) []string {
		c := &e.ctx
		c.reset(testEvent(t, "o365", json, testTime))
		var keys []string
		for _, i := range idx.candidates(c) {
			keys = append(keys, idx.refs[i].rule.info.Key)
		}
		return keys
	}
	assert.Equal(t, []string{"send", "negated", "exchange"}, candidates(`{"Operation":"Send","Workload":"Exchange"}`))
	assert.Equal(t, []string{"rules", "negated", "exchange"}, candidates(`{"Operation":"set-inboxrule","Workload":"Exchange"}`))
	assert.Equal(t, []string{"mailbox", "negated", "exchange"}, candidates(`{"Operation":"Set-Mailbox","Workload":"Exchange"}`))
	assert.Equal(t, []string{"either", "negated", "substring"}, candidates(`{"Operation":"SoftDelete","Workload":"SharePoint"}`))
	assert.Equal(t, []string{"negated"}, candidates(`{"Workload":"AzureActiveDirectory"}`))
	// The literal is searched in the field's values only, folded.
	assert.Equal(t, []string{"negated"}, candidates(`{"Workload":"Delete","Operation":"Remove"}`))
	assert.Equal(t, []string{"negated", "substring"}, candidates(`{"Operation":"HARDDELETEITEMS"}`))

	// Without the prefilter, every rule no equality discriminates is one.
	idx.prefilterOff = true
	assert.Equal(t, []string{"send", "negated", "substring", "exchange"}, candidates(`{"Operation":"Send","Workload":"Exchange"}`))
	assert.Equal(t, []string{"negated", "substring"}, candidates(`{"Workload":"AzureActiveDirectory"}`))
}
