package metrics

import (
	"html/template"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
)

// NewRegistry returns a registry with c and what every exporter serves:
// the Go runtime's (go_*) and the process's (process_*) standard series
// and ipsecmon_build_info{version,revision,goversion,...} = 1. version is
// the program's version (stamped at build); the revision comes from the
// build's VCS information.
func NewRegistry(c *Collector, programVersion string) *prometheus.Registry {
	// client_golang's build-info collector reads prometheus/common's
	// version variables, which programs usually stamp with -ldflags.
	version.Version = programVersion
	reg := prometheus.NewRegistry()
	reg.MustRegister(c,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		versioncollector.NewCollector("ipsecmon"))
	return reg
}

// Link is one entry of the landing page.
type Link struct {
	Path, Text string
}

var landing = template.Must(template.New("landing").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>ipsecmon exporter</title></head>
<body>
<h1>ipsecmon</h1>
<p>IPsec traffic analysed from the packets (version {{.Version}}).</p>
<ul>
{{- range .Links}}
<li><a href="{{.Path}}">{{.Path}}</a>: {{.Text}}</li>
{{- end}}
</ul>
</body>
</html>
`))

// LandingPage serves the page exporters show at /: what the server offers,
// linked. Any other path is not found.
func LandingPage(programVersion string, links []Link) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		landing.Execute(w, struct {
			Version string
			Links   []Link
		}{programVersion, links})
	})
}
