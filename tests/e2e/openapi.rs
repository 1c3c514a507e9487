//! Keeps openapi/ in step with the route table (being written).
