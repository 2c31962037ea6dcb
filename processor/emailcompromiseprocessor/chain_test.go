package emailcompromiseprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelsec/emailcompromise/internal/jsonpdata"
)

func graphLogin(user string, at time.Time, ip, city, country string, lat, lon float64) string {
	return fmt.Sprintf(`{"id":"g-%d","createdDateTime":%q,"userPrincipalName":%q,"ipAddress":%q,"clientAppUsed":"Browser","isInteractive":true,
		"riskLevelDuringSignIn":"none","riskState":"none","status":{"errorCode":0},
		"location":{"city":%q,"countryOrRegion":%q,"geoCoordinates":{"latitude":%v,"longitude":%v}}}`,
		at.UnixNano(), at.UTC().Format(time.RFC3339), user, ip, city, country, lat, lon)
}

func o365Mail(op, user string, at time.Time, ip, item string) string {
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"m-%d","Operation":%q,"RecordType":2,"ResultStatus":"Succeeded","Workload":"Exchange",
		"ClientIP":%q,"UserId":%q,"MailboxOwnerUPN":%q,"ClientInfoString":"Client=OWA","LogonType":0,%s}`,
		at.UTC().Format("2006-01-02T15:04:05"), at.UnixNano(), op, ip, user, user, item)
}

// TestChainAcrossSources feeds one user's Graph sign-ins and O365 mailbox
// records in one stream (map bodies, as from our receiver or OTLP) and
// expects exactly one critical chain detection, on the completing record.
func TestChainAcrossSources(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	set := processortest.NewNopSettings(NewFactory().Type())
	set.Logger = zap.New(core)
	sink := new(consumertest.LogsSink)
	cfg := createDefaultConfig().(*Config)
	cfg.OrganizationDomains = []string{"contoso.com"}
	p, err := newEmailCompromiseProcessor(set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	user := "bob@contoso.com"
	day := time.Date(2026, 11, 16, 7, 0, 0, 0, time.UTC)
	var stream []string
	for i := 0; i < 4; i++ { // four days at the office in Berlin
		stream = append(stream, graphLogin(user, day.Add(time.Duration(i)*24*time.Hour), fmt.Sprintf("198.51.100.%d", 7+i), "Berlin", "DE", 52.52, 13.405))
	}
	attack := day.Add(4*24*time.Hour + time.Hour)
	stream = append(stream,
		o365Mail("Create", user, attack.Add(-3*time.Hour), "::1", `"Item":{"Subject":"Invoice 4432 - March delivery","InternetMessageId":"<in1@partner.example>","ParentFolder":{"Path":"\\Inbox"}}`),
		graphLogin(user, attack.Add(-time.Hour), "198.51.100.7", "Berlin", "DE", 52.52, 13.405),
		graphLogin(user, attack, "192.0.2.66", "Lagos", "NG", 6.455, 3.384), // 6: impossible travel
		fmt.Sprintf(`{"CreationTime":%q,"Id":"r-1","Operation":"New-InboxRule","RecordType":1,"ResultStatus":"True","UserType":0,"Workload":"Exchange",
			"ClientIP":"192.0.2.66:40112","UserId":%q,"Parameters":[{"Name":"Name","Value":"."},{"Name":"SubjectOrBodyContainsWords","Value":"invoice"},
			{"Name":"MoveToFolder","Value":"RSS Feeds"},{"Name":"MarkAsRead","Value":"True"}]}`, attack.Add(9*time.Minute).Format("2006-01-02T15:04:05"), user), // 7
		o365Mail("Send", user, attack.Add(25*time.Minute), "192.0.2.66", `"Item":{"Subject":"RE: Invoice 4432 - March delivery","InternetMessageId":"<s1@contoso.com>","ParentFolder":{"Path":"\\Sent Items"}}`),                                                   // 8: completes
		o365Mail("SoftDelete", user, attack.Add(27*time.Minute), "192.0.2.66", `"Folder":{"Path":"\\Sent Items"},"AffectedItems":[{"Subject":"RE: Invoice 4432 - March delivery","InternetMessageId":"<s1@contoso.com>","ParentFolder":{"Path":"\\Sent Items"}}]`), // 9
	)
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, s := range stream {
		require.NoError(t, jsonpdata.DecodeMap([]byte(s), records.AppendEmpty().Body().SetEmptyMap(), jsonpdata.Limits{}))
	}
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, len(stream), out.Len())

	tags := func(i int) (rules []string, severity, chainID string) {
		attrs := out.At(i).Attributes()
		if v, ok := attrs.Get(AttrDetectionRules); ok {
			for j := 0; j < v.Slice().Len(); j++ {
				rules = append(rules, v.Slice().At(j).Str())
			}
		}
		if v, ok := attrs.Get(AttrDetectionSeverity); ok {
			severity = v.Str()
		}
		if v, ok := attrs.Get(AttrDetectionChainID); ok {
			chainID = v.Str()
		}
		return rules, severity, chainID
	}
	chains := 0
	for i := 0; i < out.Len(); i++ {
		rules, _, _ := tags(i)
		for _, r := range rules {
			if r == "chain/account_takeover" {
				chains++
			}
		}
	}
	assert.Equal(t, 2, chains, "one chain for each abuse record: the reply and its deletion")
	rules, _, _ := tags(6)
	assert.Equal(t, []string{"impossible_travel/impossible_travel"}, rules, "new country needs 10 sign-ins or 14 days of history")
	rules, _, _ = tags(7)
	assert.Equal(t, []string{"mailbox_rule/inbox_rule_hiding"}, rules)
	rules, severity, chainID := tags(8)
	assert.Equal(t, []string{"thread_hijack/reply_from_risky_session", "chain/account_takeover"}, rules)
	assert.Equal(t, "critical", severity)
	assert.NotEmpty(t, chainID)
	rules, _, laterID := tags(9)
	assert.Equal(t, []string{"thread_hijack/sent_item_deleted", "chain/account_takeover"}, rules)
	assert.Equal(t, chainID, laterID, "chains from one access record share its id")
	reason, _ := out.At(8).Attributes().Get(AttrDetectionReason)
	assert.Contains(t, reason.Str(), "chain/account_takeover: Account takeover of bob@contoso.com: 2026-11-20T08:00:00Z impossible_travel/impossible_travel (")
	assert.Contains(t, reason.Str(), "; 2026-11-20T08:09:00Z mailbox_rule/inbox_rule_hiding (")
	assert.Contains(t, reason.Str(), "; 2026-11-20T08:25:00Z thread_hijack/reply_from_risky_session (")
	assert.Equal(t, 1, logs.FilterField(zap.String("rule", "chain/account_takeover")).Len(), "logged once per suppression period")
}

// TestDetectionLoggedOncePerPeriod: a rule firing again for the same user
// within the suppression period tags every record but logs once.
func TestDetectionLoggedOncePerPeriod(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	set := processortest.NewNopSettings(NewFactory().Type())
	set.Logger = zap.New(core)
	sink := new(consumertest.LogsSink)
	p, err := newEmailCompromiseProcessor(set, createDefaultConfig().(*Config), sink)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(huntressRule)
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	}
	assert.Equal(t, 3, sink.LogRecordCount())
	for _, ld := range sink.AllLogs() {
		_, ok := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(AttrDetectionRules)
		assert.True(t, ok, "every record is tagged")
	}
	assert.Equal(t, 1, logs.FilterMessage("Detection").Len(), "logged once within the period")
}
