-- One database per service.
CREATE DATABASE catalog;
CREATE DATABASE orders;
CREATE DATABASE dispatch;
CREATE DATABASE drivers;
