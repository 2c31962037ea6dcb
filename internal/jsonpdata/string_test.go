package jsonpdata

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestDecodeMapStringMatchesDecodeMap: the string entry point decodes what
// the byte one does, errors included.
func TestDecodeMapStringMatchesDecodeMap(t *testing.T) {
	for _, in := range []string{`{"a":"x\u00e9","b":[1,2.5,true,null],"c":{"d":"e"}}`, `{"a":`, `[1]`} {
		fromBytes, fromString := pcommon.NewMap(), pcommon.NewMap()
		errB := DecodeMap([]byte(in), fromBytes, Limits{})
		errS := DecodeMapString(in, fromString, Limits{})
		assert.Equal(t, errB, errS, in)
		if errB == nil {
			require.Equal(t, fromBytes.AsRaw(), fromString.AsRaw(), in)
		}
	}
}
