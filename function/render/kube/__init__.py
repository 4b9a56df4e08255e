"""What runs inside the composed EKS cluster, as provider-kubernetes Objects (pure)."""
