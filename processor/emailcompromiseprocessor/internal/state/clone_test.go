package state

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCloneSharesNothing fills every exported field of a User, however
// deep, found by reflection (so a field added later is filled too), clones
// it, and checks that the clone is equal and shares no slice array, pointer
// or map with the original: a snapshot encodes the clone while processing
// changes the original. A field added to the state without a copy in
// Clone fails here.
func TestCloneSharesNothing(t *testing.T) {
	var u User
	fill(t, reflect.ValueOf(&u).Elem(), "User", 0, 1)
	c := u.Clone()
	require.True(t, reflect.DeepEqual(u, c), "the clone equals the original")
	shareNothing(t, reflect.ValueOf(u), reflect.ValueOf(c), "User")

	// And what that means: changing the original leaves the clone alone.
	u.SignIns.Places[0].Earliest[0]++
	u.Found.Held[0].Evidence[0].At++
	u.Mail.Hours.Counts[0]++
	assert.NotEqual(t, u.SignIns.Places[0].Earliest[0], c.SignIns.Places[0].Earliest[0])
	assert.NotEqual(t, u.Found.Held[0].Evidence[0].At, c.Found.Held[0].Evidence[0].At)
	assert.NotEqual(t, u.Mail.Hours.Counts[0], c.Mail.Hours.Counts[0])
}

// TestCloneOfEmptyUser: the optional parts stay absent.
func TestCloneOfEmptyUser(t *testing.T) {
	var u User
	assert.Equal(t, u, u.Clone())
}

// TestCloneIntoReuses: CloneInto a User holding another user's copy gives
// the same copy as Clone, sharing nothing with the original, in the
// memory the other copy held: without allocating, when it is large
// enough, even after a copy of a user who had nothing.
func TestCloneIntoReuses(t *testing.T) {
	var u, dst User
	var spare Spare
	fill(t, reflect.ValueOf(&u).Elem(), "User", 0, 1)
	fill(t, reflect.ValueOf(&dst).Elem(), "User", 0, 2)
	require.False(t, reflect.DeepEqual(u, dst))
	u.CloneInto(&dst, &spare)
	require.True(t, reflect.DeepEqual(u, dst), "the copy equals the original")
	shareNothing(t, reflect.ValueOf(u), reflect.ValueOf(dst), "User")
	assert.Zero(t, testing.AllocsPerRun(10, func() { u.CloneInto(&dst, &spare) }))

	// A user holding less (nothing at all) than the copy it replaces: the
	// histories it lacks stay absent; its empty slices may be copied as
	// empty rather than nil, which gob encodes alike.
	var empty User
	empty.CloneInto(&dst, &spare)
	assert.Empty(t, cmp.Diff(empty, dst, cmpopts.EquateEmpty()))
	assert.Nil(t, dst.Mail)
	assert.Nil(t, dst.Account)
	assert.Nil(t, dst.Found)
	assert.Equal(t, gobOf(t, empty), gobOf(t, dst))
	// And the memory of the full copy is still there for the next.
	assert.Zero(t, testing.AllocsPerRun(10, func() {
		empty.CloneInto(&dst, &spare)
		u.CloneInto(&dst, &spare)
	}))
	require.True(t, reflect.DeepEqual(u, dst), "the copy equals the original")
	shareNothing(t, reflect.ValueOf(u), reflect.ValueOf(dst), "User")
}

func gobOf(t *testing.T, u User) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(u))
	return buf.Bytes()
}

// fill gives every settable field of v a non-zero value: two elements per
// slice, one entry per map, an allocated value behind every pointer. The
// values follow a sequence, so that no two fields of a kind hold the same
// value (swapping two of them in a copy or a codec shows) and they differ
// for different bases.
var fillSeq int

func nextFill() int {
	fillSeq++
	return fillSeq
}

func fill(t *testing.T, v reflect.Value, path string, depth, base int) {
	t.Helper()
	if depth > 12 {
		t.Fatalf("%s: the state nests too deep for the test (a recursive type?)", path)
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path, depth+1, base)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < v.Len(); i++ {
			fill(t, v.Index(i), path+"[]", depth+1, base)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k, path+"[key]", depth+1, base)
		fill(t, e, path+"[value]", depth+1, base)
		v.SetMapIndex(k, e)
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(t, v.Index(i), path+"[]", depth+1, base)
		}
	case reflect.Struct:
		if x, ok := opaque(v.Type(), nextFill(), base); ok {
			v.Set(reflect.ValueOf(x))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() {
				fill(t, f, path+"."+v.Type().Field(i).Name, depth+1, base)
			}
		}
	case reflect.String:
		v.SetString(fmt.Sprint("x", base, "-", nextFill()))
	case reflect.Bool:
		v.SetBool((base+nextFill())%2 == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(base*7 + nextFill()%100))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(base*7 + nextFill()%100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(base*7+nextFill()%100) + 0.5)
	default:
		t.Fatalf("%s: a %s in the state: Clone and this test need to learn it", path, v.Kind())
	}
}

// opaque gives a non-zero value of the state's types whose fields are
// unexported (handles, addresses, ids, times), varied with seq and base:
// ids in each of their forms.
func opaque(t reflect.Type, seq, base int) (any, bool) {
	depth := seq % 200
	switch t {
	case reflect.TypeFor[Text]():
		return TextOf(fmt.Sprint("text", depth, base)), true
	case reflect.TypeFor[Addr]():
		if depth%2 == 0 {
			return AddrOf(netip.AddrFrom4([4]byte{192, 0, 2, byte(depth + base)})), true
		}
		return AddrOf(netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", depth+base))), true
	case reflect.TypeFor[RecordID]():
		switch (depth + base) % 3 {
		case 0:
			return IDOf(fmt.Sprintf("%08x-1111-2222-3333-444455556666", depth+base)), true
		case 1:
			return IDOf(fmt.Sprint(1_000_000 + depth + base)), true
		}
		return IDOf(fmt.Sprint("id-", depth, base)), true
	case reflect.TypeFor[time.Time]():
		return time.Unix(int64(1_790_000_000+depth+base), int64(depth+base)).UTC(), true
	}
	return nil, false
}

// shareNothing fails for every slice array, pointer or map a and b share.
// Texts and values of the unique and time packages are immutable and may be
// shared.
func shareNothing(t *testing.T, a, b reflect.Value, path string) {
	t.Helper()
	if pkg := a.Type().PkgPath(); pkg == "unique" || pkg == "time" || a.Type() == reflect.TypeFor[Text]() {
		return
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return
		}
		assert.NotEqual(t, a.Pointer(), b.Pointer(), "%s: the clone shares the pointer", path)
		shareNothing(t, a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Cap() > 0 {
			assert.NotEqual(t, a.Pointer(), b.Pointer(), "%s: the clone shares the slice's array", path)
		}
		for i := 0; i < a.Len(); i++ {
			shareNothing(t, a.Index(i), b.Index(i), path+"[]")
		}
	case reflect.Map:
		if !a.IsNil() {
			assert.NotEqual(t, a.Pointer(), b.Pointer(), "%s: the clone shares the map", path)
		}
	case reflect.Array:
		for i := 0; i < a.Len(); i++ {
			shareNothing(t, a.Index(i), b.Index(i), path+"[]")
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			shareNothing(t, a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name)
		}
	case reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		t.Errorf("%s: a %s in the state: Clone and this test need to learn it", path, a.Kind())
	}
}
