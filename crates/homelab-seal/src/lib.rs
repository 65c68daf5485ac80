//! SealedSecrets sealing, unsealing and key-backup checks (kubeseal wire format)
