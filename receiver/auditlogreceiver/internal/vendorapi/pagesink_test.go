package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

func TestDedupKeys(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	rec := &auditrecord.Record{ID: "a1", Time: at}
	body := pcommon.NewMap()
	assert.Equal(t, "a1", byVendorID.key(rec, body), "O365 Id and Graph id are unique on their own")
	assert.Equal(t, "a1@2026-11-25T09:00:00Z", googleIdentity.key(rec, body), "Google's uniqueQualifier is unique only with the time")
	assert.NotEqual(t, googleIdentity.key(rec, body), googleIdentity.key(&auditrecord.Record{ID: "a1", Time: at.Add(time.Second)}, body))

	body.PutStr("lastUpdatedDateTime", "2026-11-25T09:40:00Z")
	first := riskDetectionIdentity.key(rec, body)
	body.PutStr("lastUpdatedDateTime", "2026-11-26T14:02:11.5Z")
	assert.NotEqual(t, first, riskDetectionIdentity.key(rec, body), "an updated risk detection is a new record under the same id")
	assert.Equal(t, "detectedDateTime", riskDetectionIdentity.listedBy)
}
