/* The fork engine's one entry point besides its engine table entry. */
#ifndef IOD_ENGINE_FORK_H
#define IOD_ENGINE_FORK_H

/* Called by the supervisor on SIGCHLD. */
void	engine_fork_children_exited(void);

#endif
