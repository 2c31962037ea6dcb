package asciifold

import (
	"math/rand/v2"
	"strings"
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

// ContainsLower agrees with lowercasing and strings.Contains on ASCII
// haystacks: matches at either end, after a false start of the same first
// byte in the other case, needles with a non-letter first byte, needles
// longer than the haystack.
func TestContainsLowerAgreesWithStringsContains(t *testing.T) {
	needles := []string{"bav2ropc", "b", "2ropc", "x", "ab", "aab", "@contoso.com"}
	haystacks := []string{"", "b", "B", "BAV2ROPC", "xBAV2ROPC", "BAV2ROPCx", "bAbAv2RoPc", "BaBAV2ROPC", "aAaB", "AAB",
		"2ROPC", "Mozilla/5.0 (Windows NT 10.0) BAV2ROPC", "bob@Contoso.COM", "bob@contoso.co"}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aAbB2@x"
	for range 2000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		haystacks = append(haystacks, string(b))
	}
	for _, h := range haystacks {
		for _, n := range needles {
			assert.Equal(t, strings.Contains(strings.ToLower(h), n), ContainsLower(h, n), "%q in %q", n, h)
		}
	}
}
