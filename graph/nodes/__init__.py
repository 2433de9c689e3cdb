"""One async function per graph node; the function name is the node name."""
