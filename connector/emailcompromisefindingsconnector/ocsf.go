package emailcompromisefindingsconnector // import "github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector"

import (
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/connector/emailcompromisefindingsconnector/internal/incident"
	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

// Attributes of a finding record beside the detection.* and security_rule.*
// tags (added to the contract in docs/contract.md), for routing and
// upserting without reading the body.
const (
	AttrFindingUID      = "detection.finding.uid"
	AttrFindingRevision = "detection.finding.revision"
	AttrFindingStatus   = "detection.finding.status"
	AttrFindingRecords  = "detection.finding.records"
)

// OCSF Detection Finding (class 2004, category 2 Findings).
const (
	ocsfCategoryUID = 2
	ocsfClassUID    = 2004
	// OCSF finding status_id: New (nobody has triaged it), Other.
	ocsfStatusNew   = 1
	ocsfStatusOther = 99
	// OCSF analytic type_id Rule.
	ocsfAnalyticRule = 1
)

const (
	productName   = "otelcol-emailcompromise"
	productVendor = "otelsec"
	// builtinRuleset is the ruleset of the processor's built-in detectors.
	builtinRuleset = "email_compromise"
)

var activityNames = map[incident.Activity]string{
	incident.ActivityCreate: "Create",
	incident.ActivityUpdate: "Update",
	incident.ActivityClose:  "Close",
}

// OCSF severity_id of a detection severity: Low 2, Medium 3, High 4,
// Critical 5 (0 Unknown).
var ocsfSeverity = [...]struct {
	id   int64
	name string
}{{0, "Unknown"}, {2, "Low"}, {3, "Medium"}, {4, "High"}, {5, "Critical"}}

// log severity of a finding record, so that log routing by severity works.
var logSeverity = [...]plog.SeverityNumber{plog.SeverityNumberUnspecified, plog.SeverityNumberInfo, plog.SeverityNumberWarn, plog.SeverityNumberError, plog.SeverityNumberFatal}

// writeFinding writes emission e as an OCSF Detection Finding into lr.
func writeFinding(lr plog.LogRecord, e incident.Emission, now time.Time, ocsfVersion string) {
	f := e.Finding
	ts := pcommon.NewTimestampFromTime(now)
	lr.SetTimestamp(ts)
	lr.SetObservedTimestamp(ts)
	lr.SetEventName("ocsf.detection_finding")
	lr.SetSeverityNumber(logSeverity[f.Severity])
	lr.SetSeverityText(f.Severity.String())
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	ruleset := f.Ruleset
	if ruleset == "" {
		ruleset = rulesetOf(f.Category())
	}

	body := lr.Body().SetEmptyMap()
	body.EnsureCapacity(24)
	body.PutInt("activity_id", int64(e.Activity))
	body.PutStr("activity_name", activityNames[e.Activity])
	body.PutInt("category_uid", ocsfCategoryUID)
	body.PutStr("category_name", "Findings")
	body.PutInt("class_uid", ocsfClassUID)
	body.PutStr("class_name", "Detection Finding")
	body.PutInt("type_uid", ocsfClassUID*100+int64(e.Activity))
	body.PutStr("type_name", "Detection Finding: "+activityNames[e.Activity])
	sev := ocsfSeverity[f.Severity]
	body.PutInt("severity_id", sev.id)
	body.PutStr("severity", sev.name)
	if f.Status == incident.StatusSuperseded {
		body.PutInt("status_id", ocsfStatusOther)
		body.PutStr("status", "Superseded")
	} else {
		body.PutInt("status_id", ocsfStatusNew)
		body.PutStr("status", "New")
	}
	body.PutInt("time", now.UnixMilli())
	body.PutInt("start_time", millis(f.First))
	body.PutInt("end_time", millis(f.Last))
	body.PutInt("count", int64(f.Count()))
	body.PutStr("message", message(f, title))

	info := body.PutEmptyMap("finding_info")
	info.PutStr("uid", f.UID)
	info.PutStr("title", title)
	if f.Reason != "" {
		info.PutStr("desc", f.Reason)
	}
	info.PutEmptySlice("types").AppendEmpty().SetStr(f.Category())
	analytic := info.PutEmptyMap("analytic")
	analytic.PutStr("uid", f.Rule)
	analytic.PutStr("name", title)
	analytic.PutInt("type_id", ocsfAnalyticRule)
	analytic.PutStr("type", "Rule")
	analytic.PutStr("category", ruleset)
	if len(f.Techniques) > 0 {
		attacks := info.PutEmptySlice("attacks")
		for _, t := range f.Techniques {
			attacks.AppendEmpty().SetEmptyMap().PutEmptyMap("technique").PutStr("uid", t)
		}
	}
	info.PutInt("first_seen_time", millis(f.First))
	info.PutInt("last_seen_time", millis(f.Last))
	info.PutInt("created_time", f.Created/int64(time.Millisecond))
	info.PutInt("modified_time", now.UnixMilli())
	if f.Reference != "" {
		info.PutStr("src_url", f.Reference)
	}
	related := relatedUIDs(f)
	if len(related) > 0 {
		events := info.PutEmptySlice("related_events")
		for _, r := range related {
			ev := events.AppendEmpty().SetEmptyMap()
			ev.PutStr("uid", r.uid)
			ev.PutStr("type", r.kind)
		}
	}

	meta := body.PutEmptyMap("metadata")
	meta.PutStr("version", ocsfVersion)
	meta.PutStr("uid", f.UID+"/"+strconv.Itoa(f.Revision))
	if c := chainOf(f); c != "" {
		meta.PutStr("correlation_uid", c)
	}
	product := meta.PutEmptyMap("product")
	product.PutStr("name", productName)
	product.PutStr("vendor_name", productVendor)
	product.PutEmptyMap("feature").PutStr("name", "email_compromise_findings")

	evidences := body.PutEmptySlice("evidences")
	for _, ev := range f.Evidence {
		writeEvidence(evidences.AppendEmpty().SetEmptyMap(), f.User, ev)
	}

	writeAttributes(lr.Attributes(), f, title, ruleset)
}

// writeEvidence writes one record of the finding as an OCSF Evidence
// Artifacts object: who acted, from where, what operation, and the record.
func writeEvidence(m pcommon.Map, user string, ev incident.Evidence) {
	if user != "" {
		u := m.PutEmptyMap("actor").PutEmptyMap("user")
		u.PutStr("name", user)
		if strings.Contains(user, "@") {
			u.PutStr("email_addr", user)
		}
	}
	if ev.Fields.ClientAddress != "" {
		src := m.PutEmptyMap("src_endpoint")
		src.PutStr("ip", ev.Fields.ClientAddress)
		if ev.Fields.Country != "" {
			src.PutEmptyMap("location").PutStr("country", ev.Fields.Country)
		}
	}
	if ev.Fields.Operation != "" {
		m.PutEmptyMap("api").PutStr("operation", ev.Fields.Operation)
	}
	data := m.PutEmptyMap("data")
	data.PutStr(auditrecord.AttrRecordID, ev.ID)
	data.PutInt("time", millis(ev.At))
	if ev.Fields.Source != "" {
		data.PutStr(auditrecord.AttrSource, ev.Fields.Source)
	}
}

// writeAttributes writes the project's tags for the finding: one rule, its
// severity and reason, the evidence ids, and the finding's uid, revision,
// status and record count.
func writeAttributes(attrs pcommon.Map, f *incident.Finding, title, ruleset string) {
	attrs.EnsureCapacity(16)
	if f.User != "" {
		attrs.PutStr(auditrecord.AttrUserName, f.User)
	}
	if f.Tenant != "" {
		attrs.PutStr(auditrecord.AttrTenantName, f.Tenant)
	}
	attrs.PutEmptySlice(attrRules).AppendEmpty().SetStr(f.Rule)
	attrs.PutStr(attrSeverity, f.Severity.String())
	attrs.PutStr(attrReason, f.Reason)
	techniques := attrs.PutEmptySlice(attrTechnique)
	for _, t := range f.Techniques {
		techniques.AppendEmpty().SetStr(t)
	}
	evidence := attrs.PutEmptySlice(attrEvidence)
	for _, r := range f.Refs {
		evidence.AppendEmpty().SetStr(r.ID)
	}
	if c := chainOf(f); c != "" {
		attrs.PutStr(attrChainID, c)
	}
	attrs.PutStr(attrRuleName, title)
	attrs.PutStr(attrRuleCat, f.Category())
	attrs.PutStr(attrRuleset, ruleset)
	if f.Reference != "" {
		attrs.PutStr(attrRuleRef, f.Reference)
	}
	attrs.PutStr(AttrFindingUID, f.UID)
	attrs.PutInt(AttrFindingRevision, int64(f.Revision))
	attrs.PutStr(AttrFindingStatus, f.Status.String())
	attrs.PutInt(AttrFindingRecords, int64(f.Count()))
}

type relatedUID struct{ uid, kind string }

// relatedUIDs are the findings a finding points to: a chain's stages, and
// the successor of a superseded finding.
func relatedUIDs(f *incident.Finding) []relatedUID {
	var out []relatedUID
	for _, l := range f.Links {
		out = append(out, relatedUID{uid: l, kind: "stage"})
	}
	if f.Status == incident.StatusSuperseded {
		out = append(out, relatedUID{uid: f.Successor(), kind: "superseded_by"})
	}
	return out
}

// chainOf is the chain a finding is, or the first its records belong to.
func chainOf(f *incident.Finding) string {
	if f.Group != "" {
		return f.Group
	}
	if len(f.Chains) > 0 {
		return f.Chains[0]
	}
	return ""
}

func message(f *incident.Finding, title string) string {
	var b strings.Builder
	b.WriteString(title)
	if f.User != "" {
		b.WriteString(": ")
		b.WriteString(f.User)
	}
	b.WriteString(", ")
	b.WriteString(strconv.Itoa(f.Count()))
	if f.Count() == 1 {
		b.WriteString(" record")
	} else {
		b.WriteString(" records")
	}
	return b.String()
}

func rulesetOf(category string) string {
	if category == "sigma" {
		return "sigma"
	}
	return builtinRuleset
}

func millis(ns int64) int64 { return ns / int64(time.Millisecond) }
