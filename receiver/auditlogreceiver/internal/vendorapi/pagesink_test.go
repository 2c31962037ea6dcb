package vendorapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otelsec/emailcompromise/internal/auditrecord"
)

func TestDedupKeys(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	rec := &auditrecord.Record{ID: "a1", Time: at}
	assert.Equal(t, "a1", vendorID(rec), "O365 Id and Graph id are unique on their own")
	assert.Equal(t, "a1@2026-11-25T09:00:00Z", googleDedupKey(rec), "Google's uniqueQualifier is unique only with the time")
	assert.NotEqual(t, googleDedupKey(rec), googleDedupKey(&auditrecord.Record{ID: "a1", Time: at.Add(time.Second)}))
}
