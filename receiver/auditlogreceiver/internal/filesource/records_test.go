package filesource

import (
	"fmt"
	"strings"
)

// Small records of the other vendor shapes, written from the vendors' schemas
// (recordtest.O365Record is the O365 one).

func graphSignIn(id string) string {
	return fmt.Sprintf(`{"id":%q,"createdDateTime":"2024-03-01T10:00:00Z","userPrincipalName":"bob@contoso.com","ipAddress":"198.51.100.1","status":{"errorCode":0}}`, id)
}

func azureMonitorSignIn(id string) string {
	return fmt.Sprintf(`{"time":"2024-03-01T10:00:00Z","category":"SignInLogs","operationName":"Sign-in activity","properties":%s}`, graphSignIn(id))
}

func googleActivity(id string) string {
	return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":"2024-03-02T11:00:00.000Z","uniqueQualifier":%q,"applicationName":"login","customerId":"C1"},"actor":{"email":"carol@example.com"},"ipAddress":"192.0.2.5","events":[{"type":"login","name":"login_success"}]}`, id)
}

// purviewCSV writes records as a Purview export with the RecordId header.
func purviewCSV(records ...string) string {
	var b strings.Builder
	b.WriteString("\xef\xbb\xbfRecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames\r\n")
	for i, r := range records {
		fmt.Fprintf(&b, "id-%d,2/1/2024 4:07:34 PM,15,UserLoggedIn,alice@contoso.com,\"%s\",,\r\n", i, strings.ReplaceAll(r, `"`, `""`))
	}
	return b.String()
}
