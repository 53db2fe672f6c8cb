// postern: the relay/mailbox daemon and its client and maintenance commands.
PosternCommand.main()
