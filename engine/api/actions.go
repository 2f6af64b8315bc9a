package api

// Actions is what drives appSnaps, appBackups, restores and failovers.
type Actions interface{}

func (s *Server) registerActions(string) {}
