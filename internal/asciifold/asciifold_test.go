package asciifold

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFolding(t *testing.T) {
	assert.True(t, Equal("UserLoggedIn", "userloggedin"))
	assert.False(t, Equal("UserLoggedIn", "UserLoggedIn "))
	assert.False(t, Equal("a", "b"))
	assert.True(t, HasPrefix("OAuth2:Token", "oauth2:"))
	assert.False(t, HasPrefix("OAuth", "oauth2:"))
	assert.True(t, HasSuffix("bob@Contoso.COM", "@contoso.com"))
	assert.True(t, EqualLower("BAV2ROPC", "bav2ropc"))
	assert.False(t, EqualLower("BAV2ROPC", "BAV2ROPC"), "the needle must be lowercase already")
	assert.True(t, ContainsLower("Mozilla BAV2ROPC x", "bav2ropc"))
	assert.True(t, Contains(`\Recoverable Items\Deletions`, "Recoverable items"))
	assert.False(t, Contains("Inbox", "Sent Items"))
	assert.True(t, Contains("anything", ""))
	assert.Equal(t, "bob@contoso.com", ToLower("Bob@Contoso.com"))
	assert.Equal(t, "straße", ToLower("STRAßE"), "non-ASCII falls back to strings.ToLower")

	s := NewSet([]string{"IMAP4", "Exchange ActiveSync"})
	assert.True(t, s.Has("imap4"))
	assert.True(t, s.Has("EXCHANGE ACTIVESYNC"))
	assert.False(t, s.Has("Browser"))
	assert.False(t, s.Has(string(make([]byte, 100))))
}

func TestFoldingAllocatesNothing(t *testing.T) {
	s := NewSet([]string{"IMAP4"})
	allocs := testing.AllocsPerRun(100, func() {
		_ = Equal("UserLoggedIn", "userloggedin")
		_ = ContainsLower("Mozilla BAV2ROPC x", "bav2ropc")
		_ = s.Has("Imap4")
		_ = ToLower("bob@contoso.com")
	})
	assert.Zero(t, allocs)
}
