package emailcompromiseprocessor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
	"github.com/otelsec/emailcompromise/internal/jsonpdata"
	"github.com/otelsec/emailcompromise/internal/testing/loadgen"
	"github.com/otelsec/emailcompromise/processor/emailcompromiseprocessor/internal/metadatatest"
)

// Templates of the record mix a tenant's audit stream carries: mostly
// sign-ins and mailbox item operations, a few admin cmdlets and Google
// activities, and rare inbox-rule changes. %[1]s is the user, %[2]d a
// sequence number.
var mixTemplates = []struct {
	weight int
	json   string
}{
	{30, `{"CreationTime":"2026-11-20T08:%02[3]d:05","Id":"52d72a62-132b-487b-bb7f-%012[2]d","Operation":"UserLoggedIn","OrganizationId":"75243ab2-44f8-435c-a7a6-b479385df6d4","RecordType":15,"ResultStatus":"Success","UserKey":"2d2f9e2c-8350-4d98-852e-3f06daaf7185","UserType":0,"Version":1,"Workload":"AzureActiveDirectory","ClientIP":"54.68.231.63","ObjectId":"00000002-0000-0ff1-ce00-000000000000","UserId":"%[1]s","AzureActiveDirectoryEventType":1,"ExtendedProperties":[{"Name":"ResultStatusDetail","Value":"Success"},{"Name":"UserAgent","Value":"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:120.0) Gecko/20100101 Firefox/120.0"},{"Name":"RequestType","Value":"OAuth2:Authorize"}],"ModifiedProperties":[],"Actor":[{"ID":"2d2f9e2c-8350-4d98-852e-3f06daaf7185","Type":0},{"ID":"%[1]s","Type":5}],"ActorContextId":"75243ab2-44f8-435c-a7a6-b479385df6d4","ActorIpAddress":"54.68.231.63","InterSystemsId":"6463a6ad-27ec-b311-dc52-ecdde38d9492","IntraSystemId":"52d72a62-132b-487b-bb7f-c4c119f90700","SupportTicketId":"","Target":[{"ID":"00000002-0000-0ff1-ce00-000000000000","Type":0}],"TargetContextId":"75243ab2-44f8-435c-a7a6-b479385df6d4","ApplicationId":"00000002-0000-0ff1-ce00-000000000000","DeviceProperties":[{"Name":"OS","Value":"Windows10"},{"Name":"BrowserType","Value":"Firefox"},{"Name":"SessionId","Value":"15e27956-79a0-45b2-9d02-60f48349f692"}],"ErrorNumber":"0"}`},
	{25, `{"id":"66ea54eb-6301-4ee5-be62-%012[2]d","createdDateTime":"2026-11-20T08:%02[3]d:41.6195833Z","userDisplayName":"Test Contoso","userPrincipalName":"%[1]s","userId":"26be570a-ae82-4189-b4e2-a37c6808512d","appId":"de8bc8b5-d9f9-48b1-a8ad-b748da725064","appDisplayName":"Graph explorer","ipAddress":"131.107.159.37","clientAppUsed":"Browser","correlationId":"d79f5bee-5860-4832-928f-3133e22ae912","conditionalAccessStatus":"notApplied","isInteractive":true,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","riskEventTypes":[],"resourceDisplayName":"Microsoft Graph","resourceId":"00000003-0000-0000-c000-000000000000","status":{"errorCode":0,"failureReason":null,"additionalDetails":null},"deviceDetail":{"deviceId":"","displayName":null,"operatingSystem":"Windows 10","browser":"Edge 80.0.361","isCompliant":null,"isManaged":null,"trustType":null},"location":{"city":"Redmond","state":"Washington","countryOrRegion":"US","geoCoordinates":{"altitude":null,"latitude":47.68050003051758,"longitude":-122.12094116210938}},"appliedConditionalAccessPolicies":[]}`},
	{30, `{"CreationTime":"2026-11-20T09:%02[3]d:11","Id":"3be78a31-dbd3-4c2c-eaf9-%012[2]d","Operation":"Send","OrganizationId":"b86ab9d4-fcf1-4b11-8a06-7a8f91b47fbd","RecordType":2,"ResultStatus":"Succeeded","UserKey":"10032001F0A3B7C9","UserType":0,"Version":1,"Workload":"Exchange","ClientIP":"203.0.113.24","UserId":"%[1]s","AppId":"00000002-0000-0ff1-ce00-000000000000","ClientAppId":"","ClientIPAddress":"203.0.113.24","ClientInfoString":"Client=OWA;Action=ViaProxy","ExternalAccess":false,"InternalLogonType":0,"LogonType":0,"LogonUserSid":"S-1-5-21-3422892061-1135328251-2670905592-26680073","MailboxGuid":"26286ffa-073d-45ff-9fe9-539891984d69","MailboxOwnerSid":"S-1-5-21-3422892061-1135328251-2670905592-26680073","MailboxOwnerUPN":"%[1]s","OrganizationName":"contoso.onmicrosoft.com","OriginatingServer":"AM6PR01MB4535 (15.20.225.32)","SessionId":"86a7cd7c-3f42-4b68-b670-4024b5461a80","Item":{"Id":"RgAAAACklF6sEsJgSK","InternetMessageId":"<AM6PR01MB4535D305187FEC8127CF8EDFEE160@AM6PR01MB4535.eurprd01.prod.exchangelabs.com>","ParentFolder":{"Id":"LgAAAACklF6sEsJg","Path":"\\Sent Items"},"SizeInBytes":24532,"Subject":"RE: Q4 planning"}}`},
	{8, `{"CreationTime":"2026-11-20T10:%02[3]d:28","Id":"a6a52406-0912-448d-36eb-%012[2]d","Operation":"Set-Mailbox","OrganizationId":"0e8108b1-18e9-41a4-961b-dfcddf92ef08","OrganizationName":"contoso.onmicrosoft.com","OriginatingServer":"PH0PR14MB4341 (15.20.3654.025)","Parameters":[{"Name":"Identity","Value":"%[1]s"},{"Name":"RetainDeletedItemsFor","Value":"30.00:00:00"}],"RecordType":1,"ResultStatus":"True","SessionId":"86a7cd7c-3f42-4b68-b670-4024b5461a80","UserId":"it-admin@contoso.com","UserKey":"10032001020A3408","UserType":2,"Version":1,"Workload":"Exchange","ClientIP":"18.192.200.190:52816"}`},
	{5, `{"kind":"admin#reports#activity","id":{"time":"2026-11-20T11:%02[3]d:35.833Z","uniqueQualifier":"%[2]d","applicationName":"login","customerId":"C046r85ir"},"etag":"\"JCPRxFaiNR1s5TJ6ecIH8OpGdY4efiOYXbIB65itOzY/OgAbD-Tz8hSD1vUJWw7NLiJ5SF4\"","actor":{"email":"%[1]s","profileId":"112184723778873345717"},"ipAddress":"45.23.129.123","events":[{"type":"login","name":"login_success","parameters":[{"name":"login_type","value":"google_password"},{"name":"login_challenge_method","multiValue":["password"]},{"name":"is_suspicious","boolValue":false}]}]}`},
	{2, `{"CreationTime":"2026-11-20T12:%02[3]d:15","Id":"85d29e27-be28-4f2c-96c8-%012[2]d","Operation":"New-InboxRule","OrganizationId":"df233d94-fed3-4436-bf9a-a799fb85a159","RecordType":1,"ResultStatus":"True","UserKey":"10032002F222981B","UserType":0,"Version":1,"Workload":"Exchange","ClientIP":"185.73.124.135:19823","UserId":"%[1]s","AppId":"00000002-0000-0ff1-ce00-000000000000","OrganizationName":"contoso.onmicrosoft.com","Parameters":[{"Name":"From","Value":"newsletter@vendor.example"},{"Name":"MoveToFolder","Value":"Newsletters"},{"Name":"Name","Value":"Vendor newsletters"},{"Name":"StopProcessingRules","Value":"True"}]}`},
}

// realisticBatch builds n records of the mix for users distinct users, as
// our receiver emits them (map body plus the contract attributes).
func realisticBatch(tb testing.TB, n, users int) plog.Logs {
	tb.Helper()
	total := 0
	for _, t := range mixTemplates {
		total += t.weight
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	var rec auditrecord.Record
	for i := 0; i < n; i++ {
		pick := rng.IntN(total)
		var tpl string
		for _, t := range mixTemplates {
			if pick < t.weight {
				tpl = t.json
				break
			}
			pick -= t.weight
		}
		user := fmt.Sprintf("user%d@contoso.com", rng.IntN(users))
		lr := records.AppendEmpty()
		body := lr.Body().SetEmptyMap()
		if err := jsonpdata.DecodeMap([]byte(fmt.Sprintf(tpl, user, i, i%60)), body, jsonpdata.Limits{}); err != nil {
			tb.Fatal(err)
		}
		if err := auditrecord.Parse(body, &rec); err != nil {
			tb.Fatal(err)
		}
		rec.PutAttributes(lr.Attributes())
	}
	return ld
}

// BenchmarkProcessor runs the built-in suite over a realistic mix beside the
// read-once baseline on the same batches; compare their ns/record.
func BenchmarkProcessor(b *testing.B) {
	const batchSize = 1000
	source := realisticBatch(b, batchSize, 500)
	batches := func(b *testing.B) []plog.Logs {
		// Copies are made up front: the processor tags records in place.
		out := make([]plog.Logs, b.N)
		for i := range out {
			out[i] = plog.NewLogs()
			source.CopyTo(out[i])
		}
		// Collected before the timer starts, or the collection the copies
		// set off runs beside the timed loop and is charged to it.
		runtime.GC()
		return out
	}

	b.Run("baseline_read_once", func(b *testing.B) {
		in := batches(b)
		b.ReportAllocs()
		b.ResetTimer()
		sink := 0
		for i := 0; i < b.N; i++ {
			sink += loadgen.ReadOnce(in[i])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/record")
		_ = sink
	})
	b.Run("email_compromise", func(b *testing.B) {
		cfg := createDefaultConfig().(*Config)
		cfg.OrganizationDomains = []string{"contoso.com"}
		p, err := newEmailCompromiseProcessor(metadatatest.NewSettings(componenttest.NewTelemetry()), cfg, consumertest.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		in := batches(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := p.ConsumeLogs(context.Background(), in[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batchSize), "ns/record")
	})
}

// BenchmarkSendFlood sends 100,000 messages from one mailbox through the
// processor and reports how the heap the processor keeps grows from the
// 10,000th send to the 100,000th (after a GC each time), and the sizes of the
// mailbox's capped lists. Recent subjects, conversations and sent items are
// capped and aged out, so the state stops growing once they are full.
func BenchmarkSendFlood(b *testing.B) {
	const (
		sends     = 100_000
		batchSize = 1000
		user      = "flood@contoso.com"
	)
	start := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	template := plog.NewLogs()
	records := template.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := 0; i < batchSize; i++ {
		lr := records.AppendEmpty()
		body := lr.Body().SetEmptyMap()
		if err := jsonpdata.DecodeMap([]byte(o365Mail("Send", user, start, "198.51.100.7",
			`"Item":{"Subject":"x","InternetMessageId":"<x@contoso.com>","ParentFolder":{"Path":"\\Sent Items"}}`)), body, jsonpdata.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	for n := 0; n < b.N; n++ {
		cfg := createDefaultConfig().(*Config)
		p, err := newEmailCompromiseProcessor(metadatatest.NewSettings(componenttest.NewTelemetry()), cfg, consumertest.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		var at10k, after runtime.MemStats
		b.StartTimer()
		for sent := 0; sent < sends; sent += batchSize {
			b.StopTimer()
			if sent == 10_000 {
				runtime.GC()
				runtime.ReadMemStats(&at10k)
			}
			batch := plog.NewLogs()
			template.CopyTo(batch)
			lrs := batch.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				k := sent + i
				body := lrs.At(i).Body().Map()
				body.PutStr("CreationTime", start.Add(time.Duration(k)*time.Second).Format("2006-01-02T15:04:05"))
				body.PutStr("Id", fmt.Sprintf("flood-%d", k))
				item, _ := body.Get("Item")
				item.Map().PutStr("Subject", fmt.Sprintf("RE: order %d", k))
				item.Map().PutStr("InternetMessageId", fmt.Sprintf("<%d@contoso.com>", k))
			}
			b.StartTimer()
			if err := p.ConsumeLogs(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		mail := p.users.Get(user).Mail
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(at10k.HeapInuse)), "heap-growth-B/10k-to-100k")
		b.ReportMetric(float64(len(mail.Conversations)), "conversations")
		b.ReportMetric(float64(len(mail.Sends)), "sends-kept")
		b.ReportMetric(float64(len(mail.Replies)), "replies-kept")
		runtime.KeepAlive(p)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sends), "ns/send")
}
