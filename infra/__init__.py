"""AIM infrastructure: one CDK stack composed of one construct per capability."""
