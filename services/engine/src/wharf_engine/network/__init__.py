"""Container networking: the bridge, IPAM, a veth per container, published ports, links."""
