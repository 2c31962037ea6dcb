package loadgen

import (
	"math/rand/v2"
	"strconv"
)

// Record ids are derived from a key that is unique per record (day, user,
// sequence), run through a bijective mixer: unique by construction, random
// looking, and the same for the same seed.

// mix64 is the splitmix64 finaliser: a bijection on 64-bit values.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// recordKey packs where a record comes from into a key unique in one run.
// Benign records: day (20 bits), user (24 bits), sequence (19 bits).
// Scenario records set the top bit.
func recordKey(day, user, seq int) uint64 {
	return uint64(day)<<43 | uint64(user)<<19 | uint64(seq)
}

func scenarioKey(scenario, seq int) uint64 {
	return 1<<63 | uint64(scenario)<<32 | uint64(seq)
}

// idGen turns record keys into vendor ids for one seed.
type idGen struct{ salt uint64 }

// guid formats a GUID whose first 64 bits are a bijection of key, so two
// keys never share a GUID.
func (g idGen) guid(key uint64) string {
	hi := mix64(key ^ g.salt)
	lo := mix64(hi + 0x9e3779b97f4a7c15)
	return formatGUID(hi, lo)
}

// googleID formats a Reports API uniqueQualifier: a signed 64-bit decimal.
func (g idGen) googleID(key uint64) string {
	return strconv.FormatInt(int64(mix64(key^g.salt^0x5bd1e995)), 10)
}

func formatGUID(hi, lo uint64) string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	put := func(v uint64, nibbles int) {
		for i := nibbles - 1; i >= 0; i-- {
			b[j] = hex[(v>>(uint(i)*4))&0xf]
			j++
		}
	}
	put(hi>>32, 8)
	b[j] = '-'
	j++
	put(hi>>16, 4)
	b[j] = '-'
	j++
	put(hi, 4)
	b[j] = '-'
	j++
	put(lo>>48, 4)
	b[j] = '-'
	j++
	put(lo, 12)
	return string(b[:])
}

// randGUID is a GUID for fields that need not be unique (sessions,
// correlation ids).
func randGUID(r *rand.Rand) string { return formatGUID(r.Uint64(), r.Uint64()) }

// randHex returns n upper-case hex digits, as in O365 UserKey PUIDs.
func randHex(r *rand.Rand, n int) string {
	const hex = "0123456789ABCDEF"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[r.IntN(16)]
	}
	return string(b)
}
