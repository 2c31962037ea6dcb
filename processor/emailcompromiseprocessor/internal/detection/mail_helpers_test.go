package detection

import (
	"encoding/json"
	"fmt"
	"time"
)

// o365Send writes a mailbox audit Send record (ExchangeItem, RecordType 2)
// as the Management Activity API documents it: one record per message, with
// subject and InternetMessageId but no recipients.
func o365Send(user string, at time.Time, subject, messageID, ip, clientInfo string) string {
	item, _ := json.Marshal(map[string]any{
		"Id": "RgAAAAD" + messageID, "InternetMessageId": messageID, "Subject": subject,
		"ParentFolder": map[string]string{"Id": "LgAAAAD", "Path": `\Sent Items`}, "SizeInBytes": 18211,
	})
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"%d","Operation":"Send","OrganizationId":"0e8108b1","RecordType":2,
		"ResultStatus":"Succeeded","UserType":0,"Workload":"Exchange","ClientIP":%q,"UserId":%q,"MailboxOwnerUPN":%q,
		"ClientInfoString":%q,"LogonType":0,"Item":%s}`,
		at.UTC().Format("2006-01-02T15:04:05"), at.UnixNano(), ip, user, user, orDefault(clientInfo, "Client=OWA;Action=ViaProxy"), item)
}

// o365Received writes a mailbox audit Create record for a message arriving
// in the Inbox, which carries the conversation's subject.
func o365Received(user string, at time.Time, subject string) string {
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"%d","Operation":"Create","RecordType":2,"ResultStatus":"Succeeded","Workload":"Exchange",
		"UserId":"S-1-5-18","MailboxOwnerUPN":%q,"ClientIP":"::1","Item":{"Subject":%q,"InternetMessageId":"<in-%d@partner.example>","ParentFolder":{"Path":"\\Inbox"}}}`,
		at.UTC().Format("2006-01-02T15:04:05"), at.UnixNano(), user, subject, at.UnixNano())
}

// o365Delete writes an ExchangeItemGroup delete (RecordType 3) of one item.
func o365Delete(user string, at time.Time, op, folder, subject, messageID string) string {
	return fmt.Sprintf(`{"CreationTime":%q,"Id":"%d","Operation":%q,"RecordType":3,"ResultStatus":"Succeeded","Workload":"Exchange",
		"ClientIP":"192.0.2.66","UserId":%q,"MailboxOwnerUPN":%q,"LogonType":0,"Folder":{"Id":"LgAAAAD","Path":%q},
		"AffectedItems":[{"Id":"RgAAAAD","InternetMessageId":%q,"Subject":%q,"ParentFolder":{"Id":"LgAAAAD","Path":%q}}]}`,
		at.UTC().Format("2006-01-02T15:04:05"), at.UnixNano(), op, user, user, folder, messageID, subject, folder)
}
