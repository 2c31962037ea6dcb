package state

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelsec/emailcompromise/internal/testing/recordtest"
)

// A Text keeps a copy of its value, never the record's memory it was read
// from, and the users who keep one value share that copy: a record's city
// costs state a pointer, with no allocation once the value is known.
func TestTextSharesOneCopyAndPinsNoRecord(t *testing.T) {
	record := `{"city":"Berlin","country":"DE"}`
	city := record[9:15]
	require.Equal(t, "Berlin", city)

	first := TextOf(city)
	assert.Equal(t, "Berlin", first.String())
	assert.False(t, recordtest.Within(first.String(), record), "the Text pins the record")

	again := TextOf(strings.Clone(city))
	assert.Equal(t, unsafe.StringData(first.String()), unsafe.StringData(again.String()), "the second Text of a value shares the first's copy")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = TextOf(city) }))

	assert.Empty(t, TextOf("").String())
	assert.Empty(t, Text{}.String())
}

// A value pushed out of the table by others keeps its text for those who
// hold it; the next Text of it is a new copy, equal in value.
func TestTextOutlivesItsPlaceInTheTable(t *testing.T) {
	held := TextOf("Reykjavík")
	for i := range 4 * len(recentTexts) {
		TextOf(fmt.Sprint("city-", i))
	}
	assert.Equal(t, "Reykjavík", held.String())
	assert.Equal(t, "Reykjavík", TextOf("Reykjavík").String())
}
