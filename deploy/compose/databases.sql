-- One database per process, as in a deployment: the processes share the server, never a schema.
CREATE DATABASE gateway;
CREATE DATABASE risk;
CREATE DATABASE policy;
CREATE DATABASE billing;
CREATE DATABASE notification;
