package emailcompromiseprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/detection"
)

// TestTagsGiveEachRuleTheReasonOfItsSeverity: a rule found twice on one
// record (a change from a new address, and the same change after a risky
// sign-in) is tagged once, at its higher severity, with that finding's
// reason, whatever order the findings came in.
func TestTagsGiveEachRuleTheReasonOfItsSeverity(t *testing.T) {
	low := detection.Finding{Rule: detection.RuleSecurityInfo, Severity: detection.SeverityLow, Reason: "from an unknown address."}
	high := detection.Finding{Rule: detection.RuleSecurityInfo, Severity: detection.SeverityHigh, Reason: "after a risky sign-in."}
	forward := detection.Finding{Rule: detection.RuleMailboxForwarding, Severity: detection.SeverityMedium, Reason: "forwards outside."}
	for name, findings := range map[string][]detection.Finding{
		"low first":  {low, forward, high},
		"high first": {high, forward, low},
	} {
		t.Run(name, func(t *testing.T) {
			attrs := pcommon.NewMap()
			writeTags(attrs, findings)
			raw := attrs.AsRaw()
			assert.Equal(t, []any{detection.RuleSecurityInfo.ID, detection.RuleMailboxForwarding.ID}, raw[AttrDetectionRules])
			assert.Equal(t, []any{"high", "medium"}, raw[AttrDetectionSeverities])
			assert.Equal(t, "high", raw[AttrDetectionSeverity])
			assert.Equal(t, detection.RuleSecurityInfo.ID+": after a risky sign-in. "+detection.RuleMailboxForwarding.ID+": forwards outside.", raw[AttrDetectionReason])
		})
	}
}
