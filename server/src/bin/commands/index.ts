/**
 * Every `push-jobs-server` command, by oclif id (`org:create` is typed `org create`): the
 * package's explicit command list (package.json `oclif.commands`), so starting the binary
 * reads one module instead of scanning a directory.
 *
 * @module
 */
import ClientCreate from './client/create.js';
import ClientDelete from './client/delete.js';
import ClientList from './client/list.js';
import GroupAdd from './group/add.js';
import GroupList from './group/list.js';
import GroupRemove from './group/remove.js';
import GroupShow from './group/show.js';
import Init from './init.js';
import InstanceList from './instance/list.js';
import NodeImport from './node/import.js';
import OrgCreate from './org/create.js';
import OrgDelete from './org/delete.js';
import OrgList from './org/list.js';
import Start from './start.js';
import UserCreate from './user/create.js';
import UserDelete from './user/delete.js';
import UserList from './user/list.js';

/** The commands, by id. */
export const COMMANDS = {
  start: Start,
  init: Init,
  'instance:list': InstanceList,
  'org:create': OrgCreate,
  'org:list': OrgList,
  'org:delete': OrgDelete,
  'user:create': UserCreate,
  'user:list': UserList,
  'user:delete': UserDelete,
  'client:create': ClientCreate,
  'client:list': ClientList,
  'client:delete': ClientDelete,
  'group:add': GroupAdd,
  'group:remove': GroupRemove,
  'group:show': GroupShow,
  'group:list': GroupList,
  'node:import': NodeImport,
};
