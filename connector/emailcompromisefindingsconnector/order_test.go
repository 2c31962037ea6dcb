package emailcompromisefindingsconnector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

// TestArrivalOrderGivesTheSameFindings drives the whole connector - tags
// read from records, OCSF written - with the same tagged records in many
// arrival orders and batchings, batches delivered again, flushes at random
// points, and compares the findings a backend upserting by uid and
// revision ends with (superseded uids dropped): uid, count, start and end,
// evidence, links and severity. The incident package's permutation test
// covers the grouping in more orders; this one covers the record path.
func TestArrivalOrderGivesTheSameFindings(t *testing.T) {
	var tags []tag
	tags = append(tags, megan()...)
	// A burst, and two sign-in incidents that a later sign-in bridges.
	for i := 0; i < 40; i++ {
		tags = append(tags, tag{id: fmt.Sprintf("send-%02d", i), user: "isaiah.langer@contoso.com", at: 2*time.Hour + time.Duration(i)*20*time.Second,
			rules: []string{"bulk_send/send_rate_anomaly"}, severities: []string{[]string{"medium", "high"}[i%2]}, reason: fmt.Sprintf("send %d", i),
			operation: "Send", source: "o365", address: "198.51.100.160"})
	}
	for i, d := range []time.Duration{0, 20, 45, 70} {
		tags = append(tags, tag{id: fmt.Sprintf("legacy-%d", i), user: "lidia.holloway@contoso.com", at: 5*time.Hour + d*time.Minute,
			rules: []string{"risky_sign_in/legacy_authentication"}, severities: []string{"medium"}, reason: "IMAP4", operation: "UserLoggedIn"})
	}

	run := func(order []tag, rng *rand.Rand) map[string]string {
		c, sink := newTestConnector(t, testConfig(), componenttest.NewNopHost())
		ctx := context.Background()
		for i := 0; i < len(order); {
			n := 1 + rng.IntN(6)
			batch := order[i:min(i+n, len(order))]
			require.NoError(t, c.ConsumeLogs(ctx, logsOf(batch...)))
			if rng.IntN(4) == 0 {
				require.NoError(t, c.ConsumeLogs(ctx, logsOf(batch...)), "delivered again")
			}
			if rng.IntN(3) == 0 {
				c.flush(ctx)
			}
			i += n
		}
		c.flush(ctx)
		last := map[string]map[string]any{}
		revision := map[string]int64{}
		for _, lr := range findings(sink) {
			uid := attrStr(lr, AttrFindingUID)
			rev := attrInt(lr, AttrFindingRevision)
			require.Greater(t, rev, revision[uid], "revisions of %s rise", uid)
			revision[uid] = rev
			last[uid] = lr.Body().Map().AsRaw()
			last[uid]["status"] = attrStr(lr, AttrFindingStatus)
		}
		out := map[string]string{}
		for uid, body := range last {
			if body["status"] == "superseded" {
				continue
			}
			info := body["finding_info"].(map[string]any)
			var evidence []any
			for _, e := range body["evidences"].([]any) {
				evidence = append(evidence, e.(map[string]any)["data"].(map[string]any)["audit.record.id"])
			}
			out[uid] = fmt.Sprint(body["count"], body["start_time"], body["end_time"], body["severity_id"], info["desc"], evidence, info["related_events"])
		}
		return out
	}

	rng := rand.New(rand.NewPCG(16, 16))
	reference := run(tags, rng)
	require.Len(t, reference, 6+1+1, "Megan's six, the burst, one bridged sign-in incident")
	for i := 0; i < 30; i++ {
		order := slices.Clone(tags)
		switch i {
		case 0:
			slices.Reverse(order)
		default:
			rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		}
		assert.Equal(t, reference, run(order, rng), "order %d", i)
	}
}
