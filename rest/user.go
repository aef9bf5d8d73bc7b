package rest

import (
	"context"
	"net/http"

	"github.com/credvault/credvault/internal/identity"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
)

type createUserBody struct {
	Email    string  `json:"email"`
	Name     *string `json:"name,omitempty"`
	Role     string  `json:"role"`
	Password *string `json:"password,omitempty"`
}

type updateUserBody struct {
	Name     *string `json:"name,omitempty"`
	Role     *string `json:"role,omitempty"`
	Status   *string `json:"status,omitempty"`
	Password *string `json:"password,omitempty"`
}

type deleted struct {
	ID      uuid.UUID `json:"id"`
	Deleted bool      `json:"deleted"`
}

func (a *API) userRoutes() []Route {
	return []Route{
		HandleWhere(Route{Method: http.MethodGet, Path: "/admin/users", Op: access.ListUsers,
			Summary: "List the tenant's users; filters role, status, email", Status: http.StatusOK, Message: "users",
			Sort: []string{"created_at", "updated_at", "email", "name", "role", "status"},
			Filters: []Filter{{Name: "role", Field: "Role", Enum: enumOf(migrate.UsersTable, user.FieldRole)},
				{Name: "status", Field: "Status", Enum: enumOf(migrate.UsersTable, user.FieldStatus)}, {Name: "email", Field: "Email"}}},
			a.Resolver.Users.List, toUserJSON),
		HandleBody(Route{Method: http.MethodPost, Path: "/admin/users", Op: access.CreateUser,
			Summary: "Create a user in the tenant", Status: http.StatusCreated, Message: "user created"},
			func(ctx context.Context, _ *Call, in *createUserBody) (*userJSON, error) {
				u, err := a.Resolver.Users.Create(ctx, identity.CreateUserInput{Email: in.Email, Name: in.Name,
					Role: user.Role(in.Role), Password: in.Password})
				return toUserJSON(u), err
			}),
		HandleBody(Route{Method: http.MethodPatch, Path: "/admin/users/{id}", Op: access.UpdateUser,
			Summary: "Update a user: name, role, status, password", Status: http.StatusOK, Message: "user updated"},
			func(ctx context.Context, c *Call, in *updateUserBody) (*userJSON, error) {
				id, err := c.IDParam("id")
				if err != nil {
					return nil, err
				}
				input := identity.UpdateUserInput{Name: in.Name, Password: in.Password}
				if in.Role != nil {
					r := user.Role(*in.Role)
					input.Role = &r
				}
				if in.Status != nil {
					s := user.Status(*in.Status)
					input.Status = &s
				}
				u, err := a.Resolver.Users.Update(ctx, id, input)
				return toUserJSON(u), err
			}),
		Handle(Route{Method: http.MethodDelete, Path: "/admin/users/{id}", Op: access.DeleteUser,
			Summary: "Delete a user; its sessions and keys stop at once", Status: http.StatusOK, Message: "user deleted"},
			func(ctx context.Context, c *Call) (*deleted, error) {
				id, err := c.IDParam("id")
				if err != nil {
					return nil, err
				}
				if _, err := a.Resolver.Users.Delete(ctx, id); err != nil {
					return nil, err
				}
				return &deleted{ID: id, Deleted: true}, nil
			}),
	}
}

// mapSlice converts each item of in.
func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
