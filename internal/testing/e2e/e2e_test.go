// Package e2e runs the built collector distribution end to end: the real
// binary from `make build` reads the demo logs with the audit_log receiver,
// tags them with the email_compromise processor and exports them over OTLP/gRPC
// to a sink run by the test.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.yaml.in/yaml/v3"

	"github.com/otelsec/emailcompromise/internal/testing/corpus"
	"github.com/otelsec/emailcompromise/internal/testing/geodb"
)

const (
	binaryName = "otelcol-emailcompromise"
	// testBudget bounds the whole test; the collector needs a few seconds.
	testBudget = 100 * time.Second
	// quietPeriod is how long the test keeps listening after the expected
	// count arrived, so that extra (duplicated) records would be seen.
	quietPeriod = 2 * time.Second
	// stopBudget is how long a SIGTERM may take to stop the collector.
	stopBudget = 20 * time.Second
	// stallBudget fails the wait early when nothing arrives for this long
	// (the demo takes well under a second once the collector is up).
	stallBudget = 30 * time.Second
)

// expectation is what the processor must write on one demo record.
type expectation struct {
	rules      []string
	severity   string
	techniques []string
	// chain names the account takeover the record belongs to ("" none):
	// records of one chain carry one detection.chain.id, distinct chains
	// distinct ids.
	chain string
}

// expectedDetections lists, by audit.record.id, the demo records that must
// be tagged, written by hand from the story in testdata/demo: Megan Bowen's
// password is phished; on 25 November the attacker signs in from Lagos,
// buries and forwards her mail, answers a supplier's invoice thread from her
// mailbox and deletes the reply from Sent Items; the same attacker sets
// Gmail forwarding on her Contoso Labs (Google Workspace) account. That
// evening Alex Wilber's session is stolen by an adversary-in-the-middle
// proxy, Adele Vance falls for a device code, and the next night Nestor
// Wilke's account is locked by password attempts from a Tor exit. Every
// other record must carry no tag.
var expectedDetections = map[string]expectation{
	// entra-signins-graph-page.json: successful sign-in from 198.51.100.77
	// (Lagos, NG), Entra risk medium/atRisk, 9.5 h after her last sign-in
	// from home in Redmond (Azure Monitor export).
	"b5e83a17-04c9-4f2b-9d6e-7c1a2f3e5b00": {
		rules:      []string{"risky_sign_in/identity_provider_risk", "impossible_travel/impossible_travel"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1078.004"},
	},
	// entra-signins-graph-page.json: the attacker's failed password attempt
	// 90 s before, which Entra already rated medium risk.
	"2d7f4b90-c61a-4e5d-8f37-a91b6e2c0d00": {
		rules:      []string{"risky_sign_in/identity_provider_risk"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1078.004"},
	},
	// google-workspace-login-activities.json: login_success with
	// is_suspicious true from the same address.
	"7318845102276641992": {
		rules:      []string{"risky_sign_in/identity_provider_risk"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1078.004"},
	},
	// purview-audit-export-inbox-rules.csv: New-InboxRule "." from 198.51.100.77,
	// MoveToFolder "RSS Feeds", MarkAsRead, StopProcessingRules. The export
	// is read after the mailbox audit, so this set-up arrives after the
	// reply and its deletion and completes those chains late, here.
	"7c3f9a12-5e4b-4d2a-9c81-08dd2d41b7a3": {
		rules:      []string{"mailbox_rule/inbox_rule_hiding", "chain/account_takeover"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1564.008", "T1078.004", "T1114.003", "T1534"},
		chain:      "megan",
	},
	// purview-audit-export-inbox-rules.csv: New-InboxRule "Sync" ForwardTo
	// m.bowen.contoso@example.net: another late set-up of the same chains.
	"e21b6f04-93ad-4c7e-a5f2-08dd2d4213c9": {
		rules:      []string{"mailbox_rule/inbox_rule_external_forward", "chain/account_takeover"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1114.003", "T1078.004", "T1564.008", "T1534"},
		chain:      "megan",
	},
	// o365-management-activity.jsonl: Set-Mailbox ForwardingSmtpAddress
	// smtp:m.bowen.contoso@example.net, DeliverToMailboxAndForward False.
	"4f8d2c61-0b7e-4f39-8e14-08dd2d42a0f6": {
		rules:      []string{"mailbox_rule/mailbox_forwarding_external"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1114.003"},
	},
	// o365-management-activity.jsonl: Send "RE: Fabrikam invoice 20431 -
	// November services" from 198.51.100.77, 39 minutes after the risky
	// sign-in: the third stage completes the chain.
	"c8e41f27-5a93-4d06-b1e2-08dd2d45f1a8": {
		rules:      []string{"thread_hijack/reply_from_risky_session", "chain/account_takeover"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1534", "T1566.002", "T1078.004", "T1114.003", "T1564.008"},
		chain:      "megan",
	},
	// o365-management-activity.jsonl: SoftDelete of that reply from Sent
	// Items 86 seconds later: abuse too, a chain of its own.
	"5e2a9d7c-3f18-4b60-9c4d-08dd2d462b15": {
		rules:      []string{"thread_hijack/sent_item_deleted", "chain/account_takeover"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1070.008", "T1078.004", "T1114.003", "T1564.008", "T1534"},
		chain:      "megan",
	},
	// o365-management-activity.jsonl: the O365 copy of the Lagos sign-in
	// (the same moment as the Graph one, placed in Lagos by the GeoIP
	// database): it pairs with her Redmond sign-in 9.5 hours before just as
	// the Graph copy does. Every record of the attacker's sign-in is tagged.
	"9a1c7e52-6b0d-4f83-a2e4-5d9c3b1f0700": {
		rules:      []string{"impossible_travel/impossible_travel"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1078.004"},
	},
	// google-workspace-user-accounts-activities.json:
	// email_forwarding_out_of_domain for megan.bowen@contosolabs.com.
	"-4839201755638290187": {
		rules:      []string{"mailbox_rule/mailbox_forwarding_external"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1114.003"},
	},

	// --- The rest of the tenant's week (o365-sign-ins-spray-legacy-travel.jsonl,
	// entra-signins-graph-page-2.json, o365-admin-and-mailbox-audit.jsonl,
	// google-workspace-admin-activities.json); places from testdata/demo/geoip.yaml.

	// Password spray: 12 users fail from 198.51.100.150 (a hosting network,
	// AS60781) between 02:00 and 02:14 on 24 November; Joni Sherman's
	// password works at 02:16. From the tenth distinct user on, each
	// failure is an attempt of the spray (Johanna, Joni, Isaiah).
	"ae658f33-fe3b-890b-93f4-48b3a5aa3c81": sprayAttempt,
	"7e62aa0a-1df9-fd78-9c65-39382b0537e6": sprayAttempt,
	"66d22876-72fd-f202-2a96-fb1a14a0f9e7": sprayAttempt,
	"616499c9-e25a-7605-aec6-f0245bd86d40": {
		rules:      []string{"risky_sign_in/password_spray_success", "risky_sign_in/anonymizer_or_hosting"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1110.003", "T1078.004", "T1090.003"},
	},
	// Enrico Cattaneo: UserLoggedIn with user agent BAV2ROPC (password-only
	// ROPC flow) from the hosting network.
	"482c9cbc-4343-5cc5-2eae-05cf96d0cc5f": {
		rules:      []string{"risky_sign_in/legacy_authentication", "risky_sign_in/anonymizer_or_hosting"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1078.004", "T1090.003"},
	},
	// Henrietta Mueller signs in from 198.51.100.201, inside the listed
	// anonymizer network 198.51.100.192/26.
	"a7abe1c2-9e1a-8ef4-f341-e07a83f73f16": {
		rules:      []string{"risky_sign_in/anonymizer_or_hosting"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1078.004", "T1090.003"},
	},
	// Irvin Sayers: O365 sign-ins from Berlin, then Sydney 41 minutes later;
	// only the GeoIP database places them.
	"1a358ca0-0d75-985d-99c9-4309570dc195": {
		rules:      []string{"impossible_travel/impossible_travel"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1078.004"},
	},
	// Isaiah Langer (an admin): 11 failed passwords from 198.51.100.160 in
	// ten minutes, then the success at 03:12 - the Graph page lists them
	// newest first, the receiver hands them on in event-time order.
	"26b1cffc-070d-7109-2085-9634fe3c9c8f": {
		rules:      []string{"risky_sign_in/brute_force_success", "risky_sign_in/anonymizer_or_hosting"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1110.001", "T1078.004", "T1090.003"},
	},
	// ... eight minutes later his account creates a transport rule that
	// blind-copies outbound mail to collect@mail-drop.example.
	"4a3adf99-34b3-ff60-c26e-7a4287f53ddd": {
		rules:      []string{"mailbox_rule/transport_rule_external_copy"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1114.003", "T1020"},
	},
	// ... then sends 60 copies of one message within half an hour from a
	// mailbox without a baseline: the 51st crosses the floor of 50 and
	// completes the chain; every later send of the hour is tagged too.
	"decbc10b-fbeb-0a98-f748-f931a3a51759": {
		rules:      []string{"bulk_send/send_rate_anomaly", "chain/account_takeover"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1534", "T1566", "T1078.004", "T1114.003", "T1564.008"},
		chain:      "isaiah",
	},
	"05b4c425-0bab-5f9f-a732-1d319cce12d5": bulkSendInChain,
	"b51cecef-3e5b-cce6-cd2f-4934efc46c08": bulkSendInChain,
	"efe98772-9a14-e75a-7199-e0b39416c610": bulkSendInChain,
	"69c60d1b-246b-9480-327f-82f8f0e02c42": bulkSendInChain,
	"d82cba01-600a-6732-01a0-1d4289d4ff98": bulkSendInChain,
	"a2c81c32-4417-c530-0d72-cb97b630f005": bulkSendInChain,
	"f1d7b8aa-33e9-2723-be6e-d515d77b26d3": bulkSendInChain,
	"01a23b4e-b297-1b77-87d6-9991d6f75151": bulkSendInChain,
	"fa376a6e-5848-fc64-296c-764dedcf975c": bulkSendInChain,
	// Patti Fernandez denies six MFA pushes in five minutes, then approves one.
	"8e317041-87dd-aeb7-84b2-8054aead44b0": {
		rules:      []string{"risky_sign_in/mfa_fatigue", "risky_sign_in/anonymizer_or_hosting"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1621", "T1078.004", "T1090.003"},
	},
	// Lidia Holloway: successful IMAP4 sign-in from home.
	"1905d591-c5b2-e75a-0acd-8be146e40990": {
		rules:      []string{"risky_sign_in/legacy_authentication"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1078.004"},
	},
	// Christie Cline: Entra reports anonymizedIPAddress at medium risk.
	"816bee06-f92e-2339-9cce-a098535b6a43": {
		rules:      []string{"risky_sign_in/identity_provider_risk", "risky_sign_in/anonymizer_or_hosting"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1078.004", "T1090.003"},
	},
	// Johanna Lorenz: ten sign-ins from Berlin (AS3320), then one from Sydney
	// (AS1221) 27 hours later - a flight, not impossible travel.
	"b5a432cf-86e3-e726-0b0f-873b2114e068": {
		rules:      []string{"risky_sign_in/new_country", "risky_sign_in/new_asn"},
		severity:   "low",
		techniques: []string{"T1586.002", "T1078.004"},
	},
	// Lynne Robbins (admin) grants herself FullAccess to Henrietta's mailbox
	// on 25 November, outside any change window.
	"c17a4f81-de27-a24e-e134-f9f810e1fec9": {
		rules:      []string{"mailbox_rule/mailbox_delegation"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1098.002"},
	},
	// Contoso Labs' admin console: an email monitor on the CEO's mailbox...
	"-2093874650273645102": {
		rules:      []string{"mailbox_rule/email_monitor"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1114.002"},
	},
	// ... and a routing change for the same mailbox.
	"-2093874650273645099": {
		rules:      []string{"mailbox_rule/gmail_routing_or_delegation"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1098.002"},
	},

	// --- Today's tradecraft, 25-26 November (entra-signinlogs-azure-monitor.json,
	// graph-directoryaudits-page.json, o365-admin-and-mailbox-audit.jsonl).

	// Alex Wilber signs in at 20:14 through an adversary-in-the-middle
	// proxy (198.51.100.14, Ashburn, AS14618: no tag, his own country);
	// at 20:31 the stolen session is refreshed from Bucharest (RO).
	"8f92c140-9fba-412b-a68f-46d2c43ff6c2": sessionReplay,
	// ... at 20:38 an Authenticator app is registered to his account from
	// the replay address: unknown to him (low while his networks are few)
	// and 7 minutes after the replay (high).
	"IAMUX_477a6326-af83-49de-a628-abd4321a607b_DQATN_575700921": {
		rules:      []string{"persistence/security_info_changed"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1556.006"},
	},
	// ... at 20:52 he "consents" to Mail Backup Assistant with Mail.Read,
	// Mail.ReadWrite and offline_access, from the same address: critical
	// after the replay.
	"Directory_894f775f-ce97-4dbf-808a-3f9f980bc9f5_3IVBW_517131270": {
		rules:      []string{"persistence/mail_app_consent"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1528", "T1550.001"},
	},
	// ... at 21:01 Outlook on the web reads his inbox in the stolen session
	// (AppAccessContext.AADSessionId) from Bucharest, placed by GeoIP.
	"cc20ba2b-7c40-444d-8016-5ad9ef9435db": sessionReplay,
	// ... at 21:05 and 21:07 the app syncs Inbox and Sent Items from a
	// hosting network: the abuse that completes the takeover (replay,
	// then MFA method and consent, then collection).
	"2e58f748-ed06-4827-ac8b-a730d52a629e": syncInChain,
	"8147624a-2ebc-41fb-be23-5dcfb692d29a": syncInChain,
	// ... on 26 November from 02:10 the attacker reads 220, 230 and 240
	// items through Graph from Bucharest: the third bind brings the hour to
	// 690 items, above the 600 a mailbox without a baseline may read from a
	// new address; abuse of the same takeover.
	"30ff2ba1-591b-452a-b2b9-09b6cdb537db": {
		rules:      []string{"mail_collection/mail_items_accessed", "chain/account_takeover"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1114.002", "T1078.004", "T1114.003", "T1564.008", "T1534"},
		chain:      "alex",
	},
	// Adele Vance enters an attacker's device code: at 22:47 the sign-in
	// (authenticationProtocol deviceCode) is redeemed on a server in a
	// listed hosting network (AS60781), and its token refreshed at 22:58.
	"bc6c8d7a-0750-428e-b3bc-1be8d0d9ce1f": deviceCodePhish,
	"c0cdafef-d318-4074-a2fa-713d297ed0a9": deviceCodePhish,
	// ... at 23:06 the Device Registration Service adds her as owner of
	// DESKTOP-7Q2M4KD (an application's change, without an address): a
	// device registered after a risky sign-in.
	"Directory_543308f3-2d82-4e87-9ad3-439c3e989a75_TPLE0_275883457": {
		rules:      []string{"persistence/device_registered"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1098.005"},
	},
	// Nestor Wilke: six wrong passwords from a Tor exit (198.51.100.203),
	// then smart lockout refuses four more tries; the third and fourth
	// refusal make three within half an hour.
	"6a7f55ea-ef0e-42eb-a328-294b483f4347": accountLockout,
	"ae409c78-099a-4e86-a23f-a770eaa41494": accountLockout,
}

var (
	sprayAttempt = expectation{
		rules:      []string{"risky_sign_in/password_spray_attempt"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1110.003"},
	}
	sessionReplay = expectation{
		rules:      []string{"session_hijack/session_replay"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1550.004", "T1557"},
	}
	// syncInChain is each sync of Alex's mailbox by the consented app: a
	// chain of its own with the same access, so the same chain id.
	syncInChain = expectation{
		rules:      []string{"mail_collection/sync_by_new_app", "chain/account_takeover"},
		severity:   "critical",
		techniques: []string{"T1586.002", "T1114.002", "T1528", "T1078.004", "T1114.003", "T1564.008", "T1534"},
		chain:      "alex",
	}
	deviceCodePhish = expectation{
		rules:      []string{"risky_sign_in/device_code", "risky_sign_in/anonymizer_or_hosting"},
		severity:   "high",
		techniques: []string{"T1586.002", "T1528", "T1566.002", "T1078.004", "T1090.003"},
	}
	accountLockout = expectation{
		rules:      []string{"risky_sign_in/account_lockout"},
		severity:   "medium",
		techniques: []string{"T1586.002", "T1110"},
	}
)

// bulkSendInChain is each of Isaiah's sends after the one that completed
// the chain: each abuse record is a chain of its own (the same access and
// set-up records, so the same chain id).
var bulkSendInChain = expectation{
	rules:      []string{"bulk_send/send_rate_anomaly", "chain/account_takeover"},
	severity:   "critical",
	techniques: []string{"T1586.002", "T1534", "T1566", "T1078.004", "T1114.003", "T1564.008"},
	chain:      "isaiah",
}

// silentByDesign are records that must pass untagged, with the reason; they
// are checked by name so that a regression says which false-positive class
// broke.
var silentByDesign = map[string]string{
	"1b6e0d93-2a4f-4c18-b7e5-08dd2c9f4e21": "admin forwards a leaver's mail to his manager (internal) inside the change window",
	"3d0a7c55-9e21-4b6f-8a0d-08dd2c9f6b07": "admin files a leaver's mail into Archive, marked read, inside the change window",
	// Johanna's ten sign-ins from Berlin build her baseline; the ninth and
	// tenth are no new place.
	"742a8063-1f26-42aa-dcde-d20443b30f66": "Johanna's tenth sign-in from Berlin",
}

// tagKeys are the attributes the processor writes on tagged records only.
var tagKeys = []string{
	"detection.rules", "detection.severity", "detection.reason", "detection.technique", "detection.chain.id",
	"security_rule.name", "security_rule.category", "security_rule.ruleset.name", "security_rule.reference",
}

func TestDemoThroughBuiltCollector(t *testing.T) {
	root := corpus.RepoRoot(t)
	binary := collectorBinary(t, root)

	ctx, cancel := context.WithTimeout(context.Background(), testBudget)
	defer cancel()

	work, logsDir, want := prepareDemo(t, root)
	sink := startSink(t, sinkKeeps{records: true})
	configPath := filepath.Join(work, "config.yaml")
	writeCollectorConfig(t, filepath.Join(root, "testdata", "demo", "config.yaml"), configPath, logsDir, filepath.Join(work, "state"), sink)

	col := startCollector(t, binary, configPath, filepath.Join(work, "collector.log"))
	if err := sink.waitFor(ctx, want, col.exited); err != nil {
		col.stop(t)
		t.Fatalf("waiting for %d records: %v (got %d)\n%s", want, err, sink.count(), col.logTail())
	}
	// Keep listening a little: duplicates would arrive now.
	select {
	case <-time.After(quietPeriod):
	case <-col.exited:
	}
	if code := col.stop(t); code != 0 {
		t.Errorf("collector exited with code %d after SIGTERM, want 0\n%s", code, col.logTail())
	}

	records := sink.records()
	if len(records) != want {
		t.Fatalf("records in = %d (vendor records in the demo files), records out = %d", want, len(records))
	}
	byID := map[string]plog.LogRecord{}
	for _, lr := range records {
		id, ok := lr.Attributes().Get("audit.record.id")
		if !ok || id.Str() == "" {
			t.Errorf("exported record without audit.record.id: %v", lr.Attributes().AsRaw())
			continue
		}
		if _, dup := byID[id.Str()]; dup {
			t.Errorf("record %s exported twice", id.Str())
		}
		byID[id.Str()] = lr
		if v, ok := lr.Attributes().Get("audit.parse_error"); ok {
			t.Errorf("record %s: audit.parse_error %q; every demo record is a valid vendor record", id.Str(), v.Str())
		}
		if v, ok := lr.Attributes().Get("audit.source"); !ok || v.Str() == "" {
			t.Errorf("record %s: no audit.source", id.Str())
		}
	}

	for id, exp := range expectedDetections {
		lr, ok := byID[id]
		if !ok {
			t.Errorf("record %s (expected %v) was not exported", id, exp.rules)
			continue
		}
		checkTags(t, id, lr.Attributes(), exp)
	}
	idsOfChain := map[string]map[string]bool{} // chain name -> detection.chain.id values
	for id, exp := range expectedDetections {
		if lr, ok := byID[id]; ok && exp.chain != "" {
			if idsOfChain[exp.chain] == nil {
				idsOfChain[exp.chain] = map[string]bool{}
			}
			idsOfChain[exp.chain][str(lr.Attributes(), "detection.chain.id")] = true
		}
	}
	distinct := map[string]bool{}
	for name, ids := range idsOfChain {
		if len(ids) != 1 {
			t.Errorf("the records of the %s account takeover carry different detection.chain.id values: %v", name, ids)
		}
		for id := range ids {
			distinct[id] = true
		}
	}
	if len(distinct) != len(idsOfChain) {
		t.Errorf("distinct account takeovers share a detection.chain.id: %v", idsOfChain)
	}
	for id, why := range silentByDesign {
		lr, ok := byID[id]
		if !ok {
			t.Errorf("record %s (%s) was not exported", id, why)
			continue
		}
		if rules, ok := lr.Attributes().Get("detection.rules"); ok {
			t.Errorf("record %s must stay silent (%s) but was tagged %v: %s", id, why, rules.AsRaw(), reasonOf(lr))
		}
	}
	var unexpected []string
	for id, lr := range byID {
		if _, ok := expectedDetections[id]; ok {
			continue
		}
		var present []string
		for _, k := range tagKeys {
			if _, ok := lr.Attributes().Get(k); ok {
				present = append(present, k)
			}
		}
		if len(present) > 0 {
			rules, _ := lr.Attributes().Get("detection.rules")
			unexpected = append(unexpected, fmt.Sprintf("%s record %s has %v: rules %v, reason %q",
				sourceOf(lr), id, present, rules.AsRaw(), reasonOf(lr)))
		}
	}
	sort.Strings(unexpected)
	for _, u := range unexpected {
		t.Errorf("tag on a record that should be clean: %s", u)
	}
}

// prepareDemo copies the demo logs into a new work folder and writes the
// demo's GeoIP databases there; it returns the folder, the logs folder and
// the number of vendor records in the logs.
func prepareDemo(t *testing.T, root string) (work, logsDir string, records int) {
	t.Helper()
	work = t.TempDir()
	logsDir = filepath.Join(work, "logs")
	copyDemoLogs(t, filepath.Join(root, "testdata", "demo", "logs"), logsDir)
	records = countVendorRecords(t, logsDir)
	if records == 0 {
		t.Fatal("the demo logs hold no records")
	}
	// The demo config reads its GeoIP databases from DEMO_GEOIP_DIR, as
	// `make run` writes them; the collector inherits the variable.
	geoDir := filepath.Join(work, "geoip")
	if err := geodb.WriteFromTable(filepath.Join(root, "testdata", "demo", "geoip.yaml"), geoDir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEMO_GEOIP_DIR", geoDir)
	return work, logsDir, records
}

func checkTags(t *testing.T, id string, attrs pcommon.Map, exp expectation) {
	t.Helper()
	if got := stringSlice(attrs, "detection.rules"); !slices.Equal(sorted(got), sorted(exp.rules)) {
		t.Errorf("record %s: detection.rules = %v, want %v", id, got, exp.rules)
	}
	if got := str(attrs, "detection.severity"); got != exp.severity {
		t.Errorf("record %s: detection.severity = %q, want %q", id, got, exp.severity)
	}
	if got := str(attrs, "detection.reason"); strings.TrimSpace(got) == "" {
		t.Errorf("record %s: detection.reason is empty", id)
	}
	if got := stringSlice(attrs, "detection.technique"); !slices.Equal(sorted(got), sorted(exp.techniques)) {
		t.Errorf("record %s: detection.technique = %v, want %v", id, got, exp.techniques)
	}
	if got := str(attrs, "security_rule.category"); !slices.ContainsFunc(exp.rules, func(rule string) bool {
		return strings.HasPrefix(rule, got+"/")
	}) {
		t.Errorf("record %s: security_rule.category = %q, not the category of any of %v", id, got, exp.rules)
	}
	if got := str(attrs, "detection.chain.id"); (got != "") != (exp.chain != "") {
		t.Errorf("record %s: detection.chain.id = %q, want one: %v", id, got, exp.chain != "")
	}
	for _, k := range []string{"security_rule.name", "security_rule.ruleset.name", "security_rule.reference"} {
		if str(attrs, k) == "" {
			t.Errorf("record %s: %s is missing or empty", id, k)
		}
	}
}

// collectorBinary finds the binary: OTELCOL_BINARY, else _build/ of the
// repository. Without one the test skips, except under CI=true, where CI
// builds first and a missing binary is a broken build.
func collectorBinary(t *testing.T, root string) string {
	t.Helper()
	path := os.Getenv("OTELCOL_BINARY")
	if path == "" {
		path = filepath.Join(root, "_build", binaryName)
	}
	if info, err := os.Stat(path); err != nil || info.IsDir() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("collector binary %s not found; CI must run `make build` before the tests", path)
		}
		t.Skipf("end-to-end test skipped: collector binary %s not found; run `make build` first (make test then includes this test)", path)
	}
	return path
}

func copyDemoLogs(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatalf("demo logs: %v", err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// countVendorRecords counts the vendor records of every file without the
// product's code: CSV rows after the header, JSON-lines lines, elements of a
// top-level array or of the record array of a page envelope.
func countVendorRecords(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		var n int
		switch filepath.Ext(e.Name()) {
		case ".csv":
			n = countCSVRows(t, path)
		case ".jsonl", ".ndjson":
			n = countJSONLines(t, path)
		case ".json":
			n = countJSONRecords(t, path)
		default:
			t.Fatalf("%s: no counting rule for this file type; teach countVendorRecords", path)
		}
		t.Logf("%s: %d records", e.Name(), n)
		total += n
	}
	return total
}

func countCSVRows(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) == 0 {
		return 0
	}
	return len(rows) - 1 // header
}

func countJSONLines(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			t.Fatalf("%s line %d is not JSON", path, n+1)
		}
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

func countJSONRecords(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	n := 0
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return n
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch top := v.(type) {
		case []any:
			n += len(top)
		case map[string]any:
			n += envelopeLen(top)
		default:
			n++
		}
	}
}

// envelopeLen: a Graph page ("value"), an Azure Monitor export ("records") or
// a Reports API page ("items") holds its records in that array; any other
// object is one record.
func envelopeLen(obj map[string]any) int {
	for _, key := range []string{"value", "records", "items"} {
		if arr, ok := obj[key].([]any); ok {
			return len(arr)
		}
	}
	return 1
}

// writeCollectorConfig turns the demo config into the test's: same receiver
// and processor settings, but the copied logs, a fresh state directory, no
// internal metrics endpoint, and OTLP/gRPC to the sink instead of debug.
func writeCollectorConfig(t *testing.T, demoConfig, out, logsDir, stateDir string, sink *otlpSink) {
	t.Helper()
	data, err := os.ReadFile(demoConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", demoConfig, err)
	}
	section := func(m map[string]any, key string) map[string]any {
		s, ok := m[key].(map[string]any)
		if !ok {
			t.Fatalf("%s: no %q section", demoConfig, key)
		}
		return s
	}
	for id, ext := range section(cfg, "extensions") {
		if strings.HasPrefix(id, "file_storage") {
			ext.(map[string]any)["directory"] = stateDir
		}
	}
	receiver := section(section(cfg, "receivers"), "audit_log")
	files := section(receiver, "files")
	files["include"] = []string{filepath.Join(logsDir, "*")}
	files["poll_interval"] = "100ms"

	// No queue, as the demo's own exporter. The tagged records go to the
	// sink instead of the debug exporter; the findings connector stays.
	section(cfg, "exporters")["otlp_grpc"] = sinkExporter("otlp_grpc", sink)
	service := section(cfg, "service")
	logs := section(section(service, "pipelines"), "logs")
	exporters := []string{"otlp_grpc"}
	for _, e := range logs["exporters"].([]any) {
		if e != "debug" {
			exporters = append(exporters, e.(string))
		}
	}
	logs["exporters"] = exporters
	service["telemetry"] = telemetry(0, "info")
	writeYAML(t, out, cfg)
}

// collector is the running binary.
type collector struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
}

func startCollector(t *testing.T, binary, configPath, logPath string) *collector {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--config", configPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = filepath.Dir(configPath)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", binary, err)
	}
	c := &collector{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		logFile.Close()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = cmd.Process.Kill()
			<-c.exited
		}
	})
	return c
}

// stop sends SIGTERM and returns the exit code (-1 when it had to be killed
// or died from a signal).
func (c *collector) stop(t *testing.T) int {
	t.Helper()
	select {
	case <-c.exited:
	default:
		if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
		select {
		case <-c.exited:
		case <-time.After(stopBudget):
			t.Errorf("collector still running %s after SIGTERM; killing it", stopBudget)
			_ = c.cmd.Process.Kill()
			<-c.exited
			return -1
		}
	}
	var exitErr *exec.ExitError
	switch {
	case c.waitErr == nil:
		return 0
	case errors.As(c.waitErr, &exitErr):
		return exitErr.ExitCode()
	}
	t.Errorf("waiting for the collector: %v", c.waitErr)
	return -1
}

// logTail returns the end of the collector's output for failure messages.
func (c *collector) logTail() string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no collector log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return "collector output (last lines):\n" + strings.Join(lines, "\n")
}

func str(attrs pcommon.Map, key string) string {
	if v, ok := attrs.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func stringSlice(attrs pcommon.Map, key string) []string {
	v, ok := attrs.Get(key)
	if !ok {
		return nil
	}
	if v.Type() != pcommon.ValueTypeSlice {
		return []string{"<not a slice: " + v.AsString() + ">"}
	}
	out := make([]string, 0, v.Slice().Len())
	for i := 0; i < v.Slice().Len(); i++ {
		out = append(out, v.Slice().At(i).AsString())
	}
	return out
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func reasonOf(lr plog.LogRecord) string {
	return str(lr.Attributes(), "detection.reason")
}

func sourceOf(lr plog.LogRecord) string {
	return str(lr.Attributes(), "audit.source")
}
