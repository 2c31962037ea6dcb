package vendorapi // import "github.com/otelsec/emailcompromise/receiver/auditlogreceiver/internal/vendorapi"

import (
	"fmt"
	"net/url"
	"strings"
)

// cloudHosts are the endpoints of one Microsoft cloud, from Microsoft's
// documentation: the identity platform's national clouds
// (learn.microsoft.com/entra/identity-platform/authentication-national-cloud),
// the Management Activity API reference ("Activity API operations": one root
// URL per plan) and Graph's national cloud deployments
// (learn.microsoft.com/graph/deployments). The API hosts are also the
// tokens' audiences ("<host>/.default").
type cloudHosts struct {
	login, manage, graph string
}

// clouds are the values of the cloud key, in the order messages list them.
// GCC (moderate) signs in and reads Graph as the commercial cloud does; only
// its Management Activity API has a host of its own. The cloud operated by
// 21Vianet has documented login and Graph hosts but no Management Activity
// API root URL in Microsoft's reference, so it is not offered.
var clouds = []struct {
	name  string
	hosts cloudHosts
}{
	{"commercial", cloudHosts{"https://login.microsoftonline.com", "https://manage.office.com", "https://graph.microsoft.com"}},
	{"gcc", cloudHosts{"https://login.microsoftonline.com", "https://manage-gcc.office.com", "https://graph.microsoft.com"}},
	{"gcc_high", cloudHosts{"https://login.microsoftonline.us", "https://manage.office365.us", "https://graph.microsoft.us"}},
	{"dod", cloudHosts{"https://login.microsoftonline.us", "https://manage.protection.apps.mil", "https://dod-graph.microsoft.us"}},
}

// Clouds are the names the cloud setting takes.
func Clouds() []string {
	names := make([]string, len(clouds))
	for i, c := range clouds {
		names[i] = c.name
	}
	return names
}

// hostsOf returns the hosts of the named cloud; ok is false for a name
// Clouds does not list.
func hostsOf(cloud string) (hosts cloudHosts, ok bool) {
	for _, c := range clouds {
		if c.name == cloud {
			return c.hosts, true
		}
	}
	return cloudHosts{}, false
}

// microsoftTokenURL is the v2.0 token endpoint of the tenant in its cloud.
func microsoftTokenURL(auth *MicrosoftAuth) string {
	if auth.TokenURL != "" {
		return auth.TokenURL
	}
	hosts, _ := hostsOf(auth.Cloud)
	return hosts.login + "/" + url.PathEscape(auth.TenantID) + "/oauth2/v2.0/token"
}

// microsoftHosts returns the hosts of auth's cloud, or an error naming the
// source's cloud key.
func microsoftHosts(source string, auth MicrosoftAuth) (cloudHosts, error) {
	hosts, ok := hostsOf(auth.Cloud)
	if !ok {
		return cloudHosts{}, fmt.Errorf("%s.cloud: %q is not one of %s", source, auth.Cloud, strings.Join(Clouds(), ", "))
	}
	return hosts, nil
}
