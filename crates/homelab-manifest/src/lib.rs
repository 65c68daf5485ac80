//! Files, folders and stdin to YAML/JSON documents with source positions, classified as Kubernetes objects or not
