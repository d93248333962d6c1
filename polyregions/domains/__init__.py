"""Input domains: convex sets (box, ball, polytope, whole space) and slices (lines, planes)."""
