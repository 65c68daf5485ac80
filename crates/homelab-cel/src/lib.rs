//! CEL evaluation over JSON values with the Kubernetes CEL libraries, for Kyverno validate.cel and ValidatingPolicy
