// k8s-strict decodes rendered manifests into the Kubernetes API types of the k8s.io/api version in
// go.mod, in strict mode: an unknown field, a duplicate field or a wrong type is an error. It
// complements kubectl-validate, whose offline schemas stop at an older Kubernetes version.
//
// usage: go run . FILE...   (multi-document YAML; kinds outside the built-in API groups are listed as skipped)
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8s-strict FILE...")
		os.Exit(2)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, networkingv1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
	failed := false
	for _, file := range os.Args[1:] {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
				os.Exit(2)
			}
			var meta struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(doc, &meta); err != nil || meta.Kind == "" {
				continue
			}
			id := fmt.Sprintf("%s %s/%s", file, meta.Kind, meta.Metadata.Name)
			if _, _, err := decoder.Decode(doc, nil, nil); err != nil {
				if runtime.IsNotRegisteredError(err) {
					fmt.Printf("%s: skipped (%s is not a built-in API)\n", id, meta.APIVersion)
					continue
				}
				fmt.Printf("%s: ERROR %v\n", id, err)
				failed = true
				continue
			}
			fmt.Printf("%s: OK\n", id)
		}
	}
	if failed {
		os.Exit(1)
	}
}
