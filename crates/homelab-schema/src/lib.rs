//! Embedded Kubernetes OpenAPI schemas, CRD schemas and strict validation of objects
